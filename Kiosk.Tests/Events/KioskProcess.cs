using System.Diagnostics;

namespace Kiosk.Tests.Events;

/// <summary>
/// The <c>kiosk</c> program (kiosk.dll, beside the tests through the project reference) as a child process,
/// with its event log in a test folder: settings reach it through its own environment, not this process's.
/// </summary>
internal static class KioskProcess
{
    public static string KioskDll { get; } = typeof(Kiosk.Host.Cli.KioskCli).Assembly.Location;

    /// <summary>The dotnet host running these tests, or the one on PATH.</summary>
    private static string DotnetHost =>
        Environment.ProcessPath is { } p && Path.GetFileNameWithoutExtension(p) == "dotnet" ? p : "dotnet";

    public static Process Start(EventDir dir, params string[] args)
    {
        var info = new ProcessStartInfo(DotnetHost)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        info.ArgumentList.Add(KioskDll);
        foreach (string a in args) info.ArgumentList.Add(a);
        info.Environment["KIOSK_STATE_DIR"] = dir.Root;
        info.Environment["KIOSK__Events__DatabasePath"] = dir.DatabasePath;
        info.Environment.Remove("NOTIFY_SOCKET");
        return Process.Start(info) ?? throw new InvalidOperationException($"{DotnetHost} {KioskDll} did not start");
    }

    /// <summary>Runs to the end (at most a minute) and returns the exit code and both outputs.</summary>
    public static async Task<(int ExitCode, string Stdout, string Stderr)> RunAsync(EventDir dir, params string[] args)
    {
        using var p = Start(dir, args);
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(1));
        try
        {
            await p.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            p.Kill(entireProcessTree: true);
            throw new TimeoutException($"kiosk {string.Join(' ', args)} did not finish within a minute");
        }
        return (p.ExitCode, await stdout, await stderr);
    }
}
