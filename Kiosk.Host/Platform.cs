// The kiosk runs on Linux only (systemd, the GPIO character device, V4L2, POSIX file modes for its keys).
[assembly: System.Runtime.Versioning.SupportedOSPlatform("linux")]
