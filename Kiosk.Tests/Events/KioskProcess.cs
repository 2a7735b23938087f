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

    public static Process Start(EventDir dir, params string[] args) => Start(EventDirEnvironment(dir), args);

    /// <summary>
    /// The program with <paramref name="environment"/> added to this process's variables (a null value removes one);
    /// NOTIFY_SOCKET is never passed on: the child is not the service systemd watches.
    /// </summary>
    public static Process Start(IReadOnlyDictionary<string, string?> environment, params string[] args)
    {
        var info = new ProcessStartInfo(DotnetHost)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        info.ArgumentList.Add(KioskDll);
        foreach (string a in args) info.ArgumentList.Add(a);
        info.Environment.Remove("NOTIFY_SOCKET");
        foreach (var (key, value) in environment)
        {
            if (value is null) info.Environment.Remove(key);
            else info.Environment[key] = value;
        }
        return Process.Start(info) ?? throw new InvalidOperationException($"{DotnetHost} {KioskDll} did not start");
    }

    /// <summary>Runs to the end (at most a minute) and returns the exit code and both outputs.</summary>
    public static Task<(int ExitCode, string Stdout, string Stderr)> RunAsync(EventDir dir, params string[] args) =>
        RunAsync(EventDirEnvironment(dir), TimeSpan.FromMinutes(1), args);

    /// <summary>Runs to the end (at most <paramref name="limit"/>, then killed) and returns the exit code and both outputs.</summary>
    public static async Task<(int ExitCode, string Stdout, string Stderr)> RunAsync(IReadOnlyDictionary<string, string?> environment, TimeSpan limit,
        params string[] args)
    {
        using var p = Start(environment, args);
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(limit);
        try
        {
            await p.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            p.Kill(entireProcessTree: true);
            throw new TimeoutException($"kiosk {string.Join(' ', args)} did not finish within {limit}");
        }
        return (p.ExitCode, await stdout, await stderr);
    }

    private static Dictionary<string, string?> EventDirEnvironment(EventDir dir) => new()
    {
        ["KIOSK_STATE_DIR"] = dir.Root,
        ["KIOSK__Events__DatabasePath"] = dir.DatabasePath,
    };
}
