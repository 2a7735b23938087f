// The kiosk and its tests run on Linux only (Unix file modes, the camera and GPIO devices): telling the platform
// analyzer so lets tests use File.GetUnixFileMode and friends without a guard in each.
[assembly: System.Runtime.Versioning.SupportedOSPlatform("linux")]
