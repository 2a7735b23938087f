// The door hardware is the Linux GPIO character device (or its simulation): telling the platform analyzer so.
[assembly: System.Runtime.Versioning.SupportedOSPlatform("linux")]
