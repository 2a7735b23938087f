using System.Diagnostics;
using System.Globalization;
using System.Text;

namespace Kiosk.Tests.Mqtt;

/// <summary>
/// An independent subscriber, not our client: mosquitto_sub (Debian mosquitto-clients) with a persistent session
/// (<c>-c</c>: clean session off, so the broker queues QoS 1 messages for it while it is away, and keeps them across
/// its own restart when it is persistent), QoS 1, one <c>topic payload</c> line per message (<c>-v</c>).
/// It reconnects by itself after the broker restarts. Dispose kills it.
/// </summary>
internal sealed class MosquittoSub : IDisposable
{
    public const string SubPath = "/usr/bin/mosquitto_sub";

    private readonly Process _process;
    private readonly Action<string, string> _onMessage;
    private readonly StringBuilder _stderr = new();
    private readonly Task _reading;

    /// <param name="onMessage">Called with topic and payload for each line, in arrival order, on a reader thread.</param>
    public MosquittoSub(MosquittoBroker broker, string clientId, Action<string, string> onMessage, params string[] topics)
    {
        if (!File.Exists(SubPath))
            throw new InvalidOperationException($"{SubPath} is missing: run scripts/setup.sh (it installs the Debian package mosquitto-clients)");
        _onMessage = onMessage;
        var psi = new ProcessStartInfo(SubPath) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (string a in (string[])["-h", MosquittoBroker.Host, "-p", broker.Port.ToString(CultureInfo.InvariantCulture),
                     "-u", MosquittoBroker.Username, "-P", MosquittoBroker.Password, "-i", clientId, "-c", "-q", "1", "-v"])
            psi.ArgumentList.Add(a);
        foreach (string t in topics)
        {
            psi.ArgumentList.Add("-t");
            psi.ArgumentList.Add(t);
        }
        _process = Process.Start(psi) ?? throw new InvalidOperationException($"{SubPath} did not start");
        _process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (_stderr) _stderr.AppendLine(e.Data); };
        _process.BeginErrorReadLine();
        _reading = Task.Run(ReadAsync);
    }

    /// <summary>What mosquitto_sub wrote to stderr, and its exit code if it ended: for failure messages.</summary>
    public string Diagnostics
    {
        get
        {
            string exit = _process.HasExited ? $"exited with {_process.ExitCode}" : "running";
            lock (_stderr) return $"mosquitto_sub {exit}; stderr: {_stderr}";
        }
    }

    private async Task ReadAsync()
    {
        while (await _process.StandardOutput.ReadLineAsync() is { } line)
        {
            int space = line.IndexOf(' ');
            if (space <= 0) continue;
            try
            {
                _onMessage(line[..space], line[(space + 1)..]);
            }
            catch (Exception e)
            {
                HandlerFailure ??= e; // asserted by the test; reading goes on so mosquitto_sub never blocks on a full pipe
            }
        }
    }

    /// <summary>The first exception the handler threw (a payload it could not parse), or null.</summary>
    public Exception? HandlerFailure { get; private set; }

    public void Dispose()
    {
        try
        {
            if (!_process.HasExited) _process.Kill();
            _process.WaitForExit();
        }
        catch (InvalidOperationException)
        {
            // Already gone.
        }
        _reading.Wait(TimeSpan.FromSeconds(5));
        _process.Dispose();
    }
}
