using Kiosk.Host.Cli;

return await KioskCli.RunAsync(args);
