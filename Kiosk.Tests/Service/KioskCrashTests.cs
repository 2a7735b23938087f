using System.Diagnostics;
using System.Globalization;
using System.Net.Sockets;
using System.Text;
using Kiosk.Hardware.Simulated;
using Kiosk.Host;
using Kiosk.Host.Cli;
using Kiosk.Host.Demo;
using Kiosk.Host.Events;
using Kiosk.Host.Gallery;
using Kiosk.Tests.Faces;
using Kiosk.Vision.Evaluation;
using Kiosk.Vision.Faces;
using Kiosk.Vision.Imaging;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Configuration;
using Xunit.Abstractions;

namespace Kiosk.Tests.Service;

/// <summary>
/// "Killing the process mid-run (SIGKILL) leaves the simulated relay locked on restart; no event row is lost or
/// duplicated." The real <c>kiosk run --simulated-door</c> as a child process (real ffmpeg, models, SQLite), its door
/// on a simulated chip kept in a file (Door:SimulatedStateFile) so that the chip outlives the process, as a real one
/// does: killed mid-pulse, restarted on the same state folder, then stopped with SIGTERM.
/// </summary>
[Collection(ModelCollection.Name)]
public sealed class KioskCrashTests(ITestOutputHelper output)
{
    private const int LockLine = 17; // config/appsettings.json's Door:LockLine
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task A_service_killed_mid_pulse_restarts_with_the_relay_locked_and_its_event_log_whole()
    {
        string state = Directory.CreateTempSubdirectory("kiosk-crash-").FullName;
        string chipFile = Path.Combine(state, "gpio.json");
        string eventsDb = Path.Combine(state, "events.db");
        ServiceProcess? first = null, second = null;
        int[] ffmpegs = [];
        try
        {
            string clip = EnrollOnePersonAndFilmTheirOtherPhoto(state);

            // First run: wait for the second grant (the clip loops every 5 s) and the relay energized, then kill -9 in the
            // middle of that pulse.
            first = ServiceProcess.Start(state, chipFile, clip, "first");
            await Eventually(() => Rows(eventsDb).Count(r => r.Kind == "Granted") >= 2 && Relay(chipFile) is { High: true }, first,
                "a second grant with the relay unlocked");
            var firstGrant = first.Elapsed;
            ffmpegs = ChildrenOf(first.Id);
            Assert.NotEmpty(ffmpegs);
            first.Process.Kill(); // SIGKILL: no finally, no Dispose, no ServiceStopping
            var sinceKill = Stopwatch.StartNew();
            await first.Process.WaitForExitAsync();
            Assert.Equal(137, first.Process.ExitCode);

            // What the crash left: the relay still energized in the dead process's name (nobody could lock it), and a
            // database that SQLite opens whole with every grant once.
            var relay = Relay(chipFile);
            Assert.True(relay.High, "the killed process left the relay unlocked in the state file");
            Assert.Equal(first.Id, relay.Owner?.Id);
            Assert.False(relay.Owner!.Value.IsRunning());
            Assert.Equal("ok", IntegrityCheck(eventsDb));
            var before = Rows(eventsDb);
            AssertWhole(before);
            var grants = before.Where(r => r.Kind == "Granted").ToList();
            Assert.True(grants.Count >= 2);
            Assert.DoesNotContain(before, r => r.Kind == "ServiceStopping");
            // Every pulse the log shows had its grant on record first (the console logger may lose its last lines to
            // the kill, so a grant may be on record with its pulse unlogged, not the other way round).
            Assert.True(grants.Count >= first.Count("Door unlocked for") + first.Count("Door unlock extended"), first.Log());
            using (var store = EventStore.Open(new EventStoreOptions { DatabasePath = eventsDb }))
                Assert.Equal(before.Count, store.Count);
            // ffmpeg loses its reader with its parent: it dies of the broken pipe, it does not linger holding the camera.
            await Eventually(() => ffmpegs.All(p => !Running(p)), first, "the killed service's ffmpeg gone");
            var orphansGone = sinceKill.Elapsed;

            // Second run on the same state folder: the chip releases the dead process's lines as the kernel would, then
            // the door claims the relay at its locked level, before the models are even loaded.
            second = ServiceProcess.Start(state, chipFile, clip, "second");
            await Eventually(() => Relay(chipFile).Owner?.Id == second.Id, second, "the restarted service holding the relay");
            var locked = second.Elapsed;
            relay = Relay(chipFile);
            Assert.False(relay.High, "the restarted service's relay is locked");
            Assert.Equal("kiosk-lock", relay.Consumer);
            Assert.Equal(grants.Count, Rows(eventsDb).Count(r => r.Kind == "Granted")); // no new grant could have happened yet
            await Eventually(() => Rows(eventsDb).Count(r => r.Kind == "ServiceStarted") == 2, second, "the restarted service started");
            var started = second.Elapsed;
            await Eventually(() => second.Notifications().Contains("READY=1"), second, "READY=1");
            // The relay's first write in the new process was its request at the locked level.
            var relayWrites = second.Lines($"line {LockLine} ('kiosk-lock') output -> ");
            Assert.NotEmpty(relayWrites);
            Assert.EndsWith("output -> inactive (level 0)", relayWrites[0]);

            // Let it grant again, then stop it as systemd does: SIGTERM.
            await Eventually(() => Rows(eventsDb).Count(r => r.Kind == "Granted") > grants.Count, second, "a grant after the restart");
            var term = Stopwatch.StartNew();
            using (var kill = Process.Start("kill", ["-TERM", second.Id.ToString(CultureInfo.InvariantCulture)])!)
                await kill.WaitForExitAsync();
            using (var cts = new CancellationTokenSource(TimeSpan.FromSeconds(15)))
                await second.Process.WaitForExitAsync(cts.Token);
            var stopped = term.Elapsed;
            Assert.Equal(0, second.Process.ExitCode);
            Assert.Contains("STOPPING=1", second.Notifications());
            relay = Relay(chipFile);
            Assert.False(relay.High, "the stopped service left the relay locked");
            Assert.Null(relay.Owner); // and released it

            // The old rows are all there, unchanged, and the whole log has each id once in sequence order.
            Assert.Equal("ok", IntegrityCheck(eventsDb));
            var after = Rows(eventsDb);
            AssertWhole(after);
            Assert.Equal(before, after.Where(r => r.Seq <= before[^1].Seq));
            Assert.Equal("ServiceStopping", after[^1].Kind);

            output.WriteLine($"first run: second grant with the relay unlocked after {firstGrant.TotalSeconds:F1} s; killed with {grants.Count} grant(s), {before.Count} events on record; its ffmpeg seen gone {orphansGone.TotalMilliseconds:F0} ms after the kill");
            output.WriteLine($"restart: relay held locked by the new process after {locked.TotalMilliseconds:F0} ms; ServiceStarted after {started.TotalSeconds:F1} s");
            output.WriteLine($"SIGTERM to exit: {stopped.TotalMilliseconds:F0} ms; {after.Count} events in all");
        }
        finally
        {
            first?.Dispose();
            second?.Dispose();
            foreach (int pid in ffmpegs.Where(Running)) // an ffmpeg orphaned by the kill, if it outlived its parent
            {
                using var orphan = Process.GetProcessById(pid);
                if (orphan.ProcessName == "ffmpeg") orphan.Kill();
            }
            if (first is not null) output.WriteLine($"--- {first.Name} run\n{first.Log()}");
            if (second is not null) output.WriteLine($"--- {second.Name} run\n{second.Log()}\n--- its sd_notify: {string.Join(" | ", second.Notifications())}");
            Directory.Delete(state, recursive: true);
        }
    }

    /// <summary>The gallery (gallery.db, gallery.key) in <paramref name="state"/> with one person from pairs-dev, and a
    /// clip of that person's third photo walking up (5 s, looped by the service).</summary>
    private static string EnrollOnePersonAndFilmTheirOtherPhoto(string state)
    {
        var pairs = Directory.GetFiles(TestPaths.PairsDev, "*.csv").SelectMany(PairListReader.Read).ToList();
        var person = IdentityGroups.FromPairs(pairs).First(g => g.Count >= 3);
        string P(string name) => Path.Combine(TestPaths.PairsDev, name);

        var settings = KioskSettings.Load(new ConfigurationBuilder().Build());
        settings = settings with
        {
            Gallery = settings.Gallery with { DatabasePath = Path.Combine(state, "gallery.db"), KeyPath = Path.Combine(state, "gallery.key") },
        };
        using (var gallery = new GalleryService(GalleryStore.Open(settings.Gallery), true, new FacePipelineOptions { Inference = settings.Inference },
                   GalleryCommands.Identification(settings, Vision.Models.ModelCatalog.Default)))
        {
            var result = gallery.Enroll(new PersonDraft("Person A"), person.Take(2).Select(f => new EnrollmentPhoto(f, ImageDecoder.Decode(P(f)))));
            Assert.True(result.Person is not null, string.Join("; ", result.Rejected));
        }
        string clip = Path.Combine(state, "visit.mp4");
        DemoClip.Build([new ClipVisit(P(person[2]), TimeSpan.FromSeconds(3))], clip, gap: TimeSpan.FromSeconds(1));
        return clip;
    }

    private sealed record Row(long Seq, string Id, string Kind);

    /// <summary>Every event by sequence, read-only (the service may be writing); none before the service made the file.</summary>
    private static List<Row> Rows(string db)
    {
        if (!File.Exists(db)) return [];
        using var c = Open(db, SqliteOpenMode.ReadOnly);
        using var cmd = c.CreateCommand();
        cmd.CommandText = "SELECT count(*) FROM sqlite_master WHERE name = 'events'";
        if ((long)cmd.ExecuteScalar()! == 0) return [];
        cmd.CommandText = "SELECT seq, id, kind FROM events ORDER BY seq";
        using var r = cmd.ExecuteReader();
        var rows = new List<Row>();
        while (r.Read()) rows.Add(new Row(r.GetInt64(0), r.GetString(1), r.GetString(2)));
        return rows;
    }

    private static string IntegrityCheck(string db)
    {
        using var c = Open(db, SqliteOpenMode.ReadWrite);
        using var cmd = c.CreateCommand();
        cmd.CommandText = "PRAGMA integrity_check";
        return (string)cmd.ExecuteScalar()!;
    }

    private static SqliteConnection Open(string db, SqliteOpenMode mode)
    {
        var c = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = db, Mode = mode, Pooling = false, DefaultTimeout = 30 }.ToString());
        c.Open();
        return c;
    }

    /// <summary>Each id once, sequences strictly increasing.</summary>
    private static void AssertWhole(List<Row> rows)
    {
        Assert.Equal(rows.Count, rows.Select(r => r.Id).Distinct().Count());
        for (int i = 1; i < rows.Count; i++) Assert.True(rows[i].Seq > rows[i - 1].Seq, $"sequence {rows[i].Seq} after {rows[i - 1].Seq}");
    }

    private static SimulatedLineRecord Relay(string chipFile) =>
        SimulatedChipStateFile.Read(chipFile).SingleOrDefault(l => l.Line == LockLine) ?? new SimulatedLineRecord(LockLine, false, false);

    private static async Task Eventually(Func<bool> condition, ServiceProcess kiosk, string what)
    {
        var deadline = Stopwatch.StartNew();
        while (!condition())
        {
            if (deadline.Elapsed > Patience)
                Assert.Fail($"not seen within {Patience.TotalSeconds} s: {what} ({kiosk.Name} {(kiosk.Process.HasExited ? $"exited {kiosk.Process.ExitCode}" : "running")})\n{kiosk.Log()}");
            await Task.Delay(25);
        }
    }

    /// <summary>The process exists and is no zombie.</summary>
    private static bool Running(int pid)
    {
        try
        {
            return !File.ReadAllText($"/proc/{pid}/stat").Contains(") Z ", StringComparison.Ordinal);
        }
        catch (IOException)
        {
            return false;
        }
    }

    private static int[] ChildrenOf(int pid) =>
        [.. Directory.GetDirectories("/proc").Select(Path.GetFileName).Where(d => d!.All(char.IsAsciiDigit)).Select(d => int.Parse(d!, CultureInfo.InvariantCulture))
            .Where(p =>
            {
                try
                {
                    string stat = File.ReadAllText($"/proc/{p}/stat");
                    return stat[(stat.LastIndexOf(')') + 2)..].Split(' ')[1] == pid.ToString(CultureInfo.InvariantCulture);
                }
                catch (IOException)
                {
                    return false; // gone meanwhile
                }
            })];

    /// <summary><c>dotnet kiosk.dll run --simulated-door --camera CLIP</c> on a state folder, its output and sd_notify
    /// messages collected.</summary>
    private sealed class ServiceProcess : IDisposable
    {
        private readonly List<string> _lines = [];
        private readonly List<string> _notes = [];
        private readonly Socket _notify;
        private readonly Stopwatch _clock = Stopwatch.StartNew();

        private ServiceProcess(string name, Process process, Socket notify)
        {
            Name = name;
            Process = process;
            _notify = notify;
        }

        public string Name { get; }
        public Process Process { get; }
        public int Id => Process.Id;
        /// <summary>Since the process was started.</summary>
        public TimeSpan Elapsed => _clock.Elapsed;

        public static ServiceProcess Start(string state, string chipFile, string clip, string name)
        {
            string socketPath = Path.Combine(state, $"notify-{name}");
            var notify = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
            notify.Bind(new UnixDomainSocketEndPoint(socketPath));
            string kioskDll = typeof(KioskCli).Assembly.Location;
            var info = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host ? host : "dotnet")
            {
                ArgumentList = { kioskDll, "run", "--simulated-door", "--camera", clip },
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            };
            info.Environment["KIOSK_STATE_DIR"] = state;
            info.Environment["KIOSK__Door__SimulatedStateFile"] = chipFile;
            info.Environment["KIOSK__Camera__Kind"] = "File";
            info.Environment["KIOSK__Camera__Loop"] = "true";
            info.Environment["KIOSK__Recognition__PersonCooldown"] = "00:00:02";
            info.Environment["NOTIFY_SOCKET"] = socketPath;
            info.Environment.Remove("WATCHDOG_USEC");
            info.Environment.Remove("WATCHDOG_PID");
            info.Environment.Remove("JOURNAL_STREAM");
            var process = new Process { StartInfo = info };
            var kiosk = new ServiceProcess(name, process, notify);
            process.OutputDataReceived += (_, e) => kiosk.Add(e.Data);
            process.ErrorDataReceived += (_, e) => kiosk.Add(e.Data);
            process.Start();
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
            _ = kiosk.ReceiveAsync();
            return kiosk;
        }

        public int Count(string text)
        {
            lock (_lines) return _lines.Count(l => l.Contains(text, StringComparison.Ordinal));
        }

        public List<string> Lines(string text)
        {
            lock (_lines) return [.. _lines.Where(l => l.Contains(text, StringComparison.Ordinal))];
        }

        public string Log()
        {
            lock (_lines) return string.Join('\n', _lines.TakeLast(60));
        }

        public List<string> Notifications()
        {
            lock (_notes) return [.. _notes];
        }

        public void Dispose()
        {
            if (!Process.HasExited) Process.Kill(entireProcessTree: true);
            Process.WaitForExit();
            Process.Dispose();
            _notify.Dispose();
        }

        private void Add(string? line)
        {
            if (line is null) return;
            lock (_lines) _lines.Add(line);
        }

        private async Task ReceiveAsync()
        {
            var buffer = new byte[4096];
            try
            {
                while (true)
                {
                    int n = await _notify.ReceiveAsync(buffer, SocketFlags.None);
                    lock (_notes) _notes.AddRange(Encoding.UTF8.GetString(buffer, 0, n).Split('\n', StringSplitOptions.RemoveEmptyEntries));
                }
            }
            catch (Exception e) when (e is ObjectDisposedException or SocketException)
            {
                // disposed with the kiosk
            }
        }
    }
}
