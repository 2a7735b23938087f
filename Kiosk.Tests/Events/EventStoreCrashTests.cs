using System.Globalization;
using System.Text;
using Kiosk.Host.Events;
using Microsoft.Data.Sqlite;

namespace Kiosk.Tests.Events;

/// <summary>
/// The log under a crash: a child <c>kiosk events append</c> prints each sequence once its Append has returned
/// and is killed with SIGKILL mid-run. SIGKILL is a process crash, not a power cut: what the kernel had been
/// given survives it either way, so this tests SQLite's transactions and our order of "store, then report"; the
/// power-cut half rests on <c>synchronous=FULL</c>, checked in <see cref="EventStoreTests"/>.
/// </summary>
public sealed class EventStoreCrashTests : IDisposable
{
    private readonly EventDir _dir = new();

    public void Dispose() => _dir.Dispose();

    /// <summary>Starts an endless append, kills it after <paramref name="killAfter"/> printed events, returns every complete line.</summary>
    private async Task<List<(long Seq, Guid Id)>> AppendAndKill(int killAfter)
    {
        using var child = KioskProcess.Start(_dir, "events", "append", "--kind", "Granted", "--person-id", "1",
            "--person-name", "Ada", "--count", "100000000");
        var stderr = child.StandardError.ReadToEndAsync();
        var received = new MemoryStream();
        int newlines = 0;
        var enough = new TaskCompletionSource();
        var reader = Task.Run(async () =>
        {
            var buffer = new byte[4096];
            int n;
            while ((n = await child.StandardOutput.BaseStream.ReadAsync(buffer)) > 0)
            {
                lock (received) received.Write(buffer, 0, n);
                newlines += buffer.AsSpan(0, n).Count((byte)'\n');
                if (newlines >= killAfter) enough.TrySetResult();
            }
        });

        var done = await Task.WhenAny(enough.Task, reader, Task.Delay(TimeSpan.FromMinutes(1)));
        bool runningAtKill = !child.HasExited;
        if (runningAtKill) child.Kill(); // SIGKILL on Linux
        await child.WaitForExitAsync();
        await reader; // the pipe keeps what was written before the kill: read it to the end
        Assert.True(done == enough.Task, $"the child printed {newlines} events, not {killAfter}, before it ended or a minute passed; stderr: {await stderr}");
        Assert.True(runningAtKill, $"the child ended by itself (exit code {child.ExitCode}); stderr: {await stderr}");
        Assert.Equal(128 + 9, child.ExitCode); // killed by signal 9

        string text = Encoding.UTF8.GetString(received.ToArray());
        int end = text.LastIndexOf('\n');      // a line cut by the kill is not a report of a returned Append
        var lines = end < 0 ? [] : text[..end].Split('\n');
        return [.. lines.Select(line =>
        {
            string[] parts = line.Split(' ');
            Assert.Equal(2, parts.Length);
            return (long.Parse(parts[0], CultureInfo.InvariantCulture), Guid.ParseExact(parts[1], "D"));
        })];
    }

    [Fact]
    public async Task Every_append_that_returned_before_a_SIGKILL_is_stored_exactly_once_in_order()
    {
        long storedBefore = 0;
        foreach (int killAfter in new[] { 150, 40, 400 })
        {
            var reported = await AppendAndKill(killAfter);
            Assert.True(reported.Count >= killAfter);

            // The file is sound: SQLite's own check, then every row through the store.
            SqliteConnection.ClearAllPools();
            using (var raw = _dir.Raw())
            using (var cmd = raw.CreateCommand())
            {
                cmd.CommandText = "PRAGMA integrity_check";
                Assert.Equal("ok", cmd.ExecuteScalar());
            }
            using var store = _dir.Open();
            var stored = store.Unsent(int.MaxValue);
            Assert.Equal(stored.Count, store.Count);

            // Sequences strictly increasing with no gap (nothing is pruned here), ids unique, every row whole.
            Assert.Equal(Enumerable.Range(1, stored.Count).Select(i => (long)i), stored.Select(s => s.Sequence));
            Assert.Equal(stored.Count, stored.Select(s => s.Event.Id).Distinct().Count());
            Assert.All(stored, s => Assert.Equal((EventKind.Granted, 1L, "Ada"), (s.Event.Kind, s.Event.PersonId, s.Event.PersonName)));

            // This round's rows are the reported appends, in order, under their sequences, each once; at most one
            // more, the last, which the kill caught between its commit and its print.
            var round = stored.Where(s => s.Sequence > storedBefore).ToList();
            Assert.InRange(round.Count, reported.Count, reported.Count + 1);
            Assert.Equal(reported, round.Take(reported.Count).Select(s => (s.Sequence, s.Event.Id)));
            storedBefore = stored[^1].Sequence;
        }

        // After three crashes the log goes on where it was.
        long lastBefore;
        using (var store = _dir.Open()) lastBefore = store.Latest(1)[0].Sequence;
        var (code, stdout, stderr) = await KioskProcess.RunAsync(_dir, "events", "append", "--kind", "DoorClosed", "--count", "3");
        Assert.True(code == 0, stderr);
        Assert.Equal([lastBefore + 1, lastBefore + 2, lastBefore + 3],
            stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => long.Parse(l.Split(' ')[0], CultureInfo.InvariantCulture)));
    }
}
