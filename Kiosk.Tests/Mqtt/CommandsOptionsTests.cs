using System.Diagnostics;
using System.Text;
using System.Text.Json;
using Kiosk.Host;
using Kiosk.Host.Mqtt;
using Kiosk.Host.Mqtt.Commands;
using Kiosk.Tests.Events;
using Microsoft.Extensions.Configuration;

namespace Kiosk.Tests.Mqtt;

/// <summary>The command settings, the key file, the forgiving head scan, the reply memory and the integrator's CLI.</summary>
public sealed class CommandsOptionsTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("kiosk-commands").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private const string? None = null;

    private static IConfiguration Config(params (string Key, string Value)[] values) =>
        new ConfigurationBuilder().AddInMemoryCollection(values.Select(v => new KeyValuePair<string, string?>(v.Key, v.Value))).Build();

    [Fact]
    public void Defaults_are_signed_commands_five_minutes_16_MiB_ten_images_and_no_remote_door()
    {
        var o = CommandOptions.Load(Config());
        Assert.True(o.RequireSignedCommands);
        Assert.Null(o.CommandKeyFile);
        Assert.Equal(TimeSpan.FromMinutes(5), o.CommandMaxAge);
        Assert.Equal(16 << 20, o.MaxCommandBytes);
        Assert.Equal(10, o.MaxImagesPerCommand);
        Assert.Equal(8 << 20, o.MaxImageBytes);
        Assert.False(o.AllowOpenDoor);
        Assert.Equal(16 << 20, MqttOptions.Load(Config(("Mqtt:Host", "b"), ("Mqtt:ClientId", "k"))).MaxIncomingBytes);
        // A smaller command limit takes the image limit down with it.
        Assert.Equal(4096, CommandOptions.Load(Config(("Mqtt:MaxCommandBytes", "4096"))).MaxImageBytes);
    }

    [Theory]
    [InlineData("Mqtt:CommandMaxAge", "00:00:05", "Mqtt:CommandMaxAge is 00:00:05")]
    [InlineData("Mqtt:CommandMaxAge", "soon", "Mqtt:CommandMaxAge is 'soon'")]
    [InlineData("Mqtt:MaxCommandBytes", "100", "Mqtt:MaxCommandBytes is 100")]
    [InlineData("Mqtt:MaxCommandBytes", "300000000", "Mqtt:MaxCommandBytes is 300000000")]
    [InlineData("Mqtt:MaxImagesPerCommand", "0", "Mqtt:MaxImagesPerCommand is 0")]
    [InlineData("Mqtt:MaxImageBytes", "20000000", "Mqtt:MaxImageBytes is 20000000")]
    [InlineData("Mqtt:RequireSignedCommands", "maybe", "Mqtt:RequireSignedCommands is 'maybe'")]
    [InlineData("Mqtt:AllowOpenDoor", "yes please", "Mqtt:AllowOpenDoor is 'yes please'")]
    [InlineData("Mqtt:CommandKeyFile", "/nonexistent/command.key", "Mqtt:CommandKeyFile is /nonexistent/command.key, which does not exist")]
    public void A_bad_setting_is_refused_naming_its_key(string key, string value, string message)
    {
        var e = Assert.Throws<SettingsException>(() => CommandOptions.Load(Config((key, value))));
        Assert.StartsWith(message, e.Message);
    }

    [Theory]
    [InlineData("1000")]
    [InlineData("268435456")]
    public void MaxIncomingBytes_must_hold_at_least_the_head_and_at_most_an_mqtt_packet(string value)
    {
        var e = Assert.Throws<SettingsException>(() => MqttOptions.Load(Config(("Mqtt:Host", "b"), ("Mqtt:ClientId", "k"), ("Mqtt:MaxIncomingBytes", value))));
        Assert.StartsWith($"Mqtt:MaxIncomingBytes is {value}", e.Message);
    }

    [Fact]
    public void A_key_file_must_be_the_owners_alone_and_hold_base64_of_at_least_32_bytes()
    {
        string file = Path.Combine(_dir, "k.key");
        CommandKey.CreateFile(file);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(file));
        Assert.Equal(32, Convert.FromBase64String(File.ReadAllText(file).Trim()).Length);
        Assert.Throws<IOException>(() => CommandKey.CreateFile(file)); // never over an existing key

        using (var key = CommandKey.Load(file, "Mqtt:CommandKeyFile"))
        {
            byte[] body = "{\"a\":1}"u8.ToArray();
            byte[] signature = key.Sign(body);
            Assert.True(key.Verify(body, signature));
            Assert.False(key.Verify("{\"a\":2}"u8, signature));
            Assert.False(key.Verify(body, signature.AsSpan(0, 31)));
            signature[5] ^= 1;
            Assert.False(key.Verify(body, signature));
        }

        File.SetUnixFileMode(file, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead);
        var open = Assert.Throws<SettingsException>(() => CommandKey.Load(file, "Mqtt:CommandKeyFile"));
        Assert.Contains("Mqtt:CommandKeyFile", open.Message);
        Assert.Contains("0640", open.Message);

        foreach (string text in new[] { Convert.ToBase64String(new byte[16]), "not base64 at all", "" })
        {
            string bad = Path.Combine(_dir, $"bad-{Guid.NewGuid():N}.key");
            File.WriteAllText(bad, text);
            File.SetUnixFileMode(bad, UnixFileMode.UserRead | UnixFileMode.UserWrite);
            var e = Assert.Throws<SettingsException>(() => CommandKey.Load(bad, "--key-file"));
            Assert.Contains("--key-file", e.Message);
            Assert.Contains("malformed", e.Message);
        }
    }

    [Fact]
    public void The_head_scan_finds_request_id_and_reply_to_in_a_cut_off_plain_or_signed_command()
    {
        string command = """{"schema":"kiosk-command/1","request_id":"r-\"7\"","reply_to":"a/b\u00e9","images":["AAAA""" + new string('A', 5000);
        Assert.Equal(("r-\"7\"", "a/bé"), Scan(command));
        // Signed: the command is a string inside the envelope, escaped (quotes and 'é' as \u escapes here), and cut off too.
        string envelope = ("{\"body\":" + JsonSerializer.Serialize(command + "\"]}"))[..400];
        Assert.Contains("\\u0022", envelope);
        Assert.Equal(("r-\"7\"", "a/bé"), Scan(envelope));
        Assert.Equal((None, None), Scan("not json at all"));
        Assert.Equal(("x", None), Scan("""{"request_id":"x","reply_to":5,"request_id":"y"}"""));
        Assert.Equal((None, None), Scan("""{"deeper":{"request_id":"inner"}}"""));

        static (string?, string?) Scan(string text) => HeadScanner.Scan(Encoding.UTF8.GetBytes(text));
    }

    [Fact]
    public void Replies_are_remembered_for_their_lifetime_and_the_oldest_goes_first_when_full()
    {
        var cache = new ReplyCache(capacity: 2, TimeSpan.FromMinutes(6));
        var t0 = new DateTimeOffset(2026, 11, 2, 8, 0, 0, TimeSpan.Zero);
        CommandReply Reply(string id) => new("t", Encoding.UTF8.GetBytes(id), id, "get-person", null);
        cache.Add("a", [1], Reply("a"), t0);
        cache.Add("b", [2], Reply("b"), t0.AddMinutes(1));
        cache.Add("c", [3], Reply("c"), t0.AddMinutes(2));
        Assert.False(cache.TryGet("a", out _));
        Assert.True(cache.TryGet("b", out var b));
        Assert.Equal([2], b.Digest);
        cache.Expire(t0.AddMinutes(7) + TimeSpan.FromSeconds(1));
        Assert.False(cache.TryGet("b", out _));
        Assert.True(cache.TryGet("c", out _));
        cache.Expire(t0.AddMinutes(9));
        Assert.Equal(0, cache.Count);
    }

    [Fact]
    public async Task The_cli_makes_a_key_and_signs_standard_input_so_that_the_kiosk_verifies_the_exact_bytes()
    {
        string keyFile = Path.Combine(_dir, "sub", "command.key");
        var made = await RunAsync(null, "command", "new-key", "--out", keyFile);
        Assert.True(made.ExitCode == 0, made.Stderr);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(keyFile));
        var again = await RunAsync(null, "command", "new-key", "--out", keyFile);
        Assert.Equal(2, again.ExitCode);
        Assert.Contains("exists", again.Stderr);

        // Odd but valid bytes: non-ASCII, an escaped quote, '+' and '/', a trailing newline. All of them are signed.
        byte[] body = Encoding.UTF8.GetBytes("{\"schema\":\"kiosk-command/1\",\"name\":\"Zoë \\\"Z\\\"\",\"x\":\"a+b/c\"}\n");
        var signed = await RunAsync(body, "command", "sign", "--key-file", keyFile);
        Assert.True(signed.ExitCode == 0, signed.Stderr);
        using var envelope = JsonDocument.Parse(signed.Stdout);
        Assert.Equal(body, Encoding.UTF8.GetBytes(envelope.RootElement.GetProperty("body").GetString()!));
        using var key = CommandKey.Load(keyFile, "test");
        Assert.True(key.Verify(body, Convert.FromBase64String(envelope.RootElement.GetProperty("signature").GetString()!)));

        var notJson = await RunAsync("enroll please"u8.ToArray(), "command", "sign", "--key-file", keyFile);
        Assert.Equal(2, notJson.ExitCode);
        Assert.Contains("not valid JSON", notJson.Stderr);
        var noKey = await RunAsync(body, "command", "sign", "--key-file", Path.Combine(_dir, "missing.key"));
        Assert.Equal(2, noKey.ExitCode);
        Assert.Contains("--key-file", noKey.Stderr);
    }

    [Fact]
    public void The_documentation_lists_every_error_code_and_its_schemas_are_json()
    {
        string docs = Path.Combine(TestPaths.RepoRoot, "docs", "mqtt");
        string text = File.ReadAllText(Path.Combine(docs, "commands.md"));
        using var reply = JsonDocument.Parse(File.ReadAllText(Path.Combine(docs, "reply.schema.json")));
        using var command = JsonDocument.Parse(File.ReadAllText(Path.Combine(docs, "command.schema.json")));
        var documented = reply.RootElement.GetProperty("properties").GetProperty("error").GetProperty("properties").GetProperty("code")
            .GetProperty("enum").EnumerateArray().Select(e => e.GetString()!).Order().ToArray();
        Assert.Equal(CommandErrors.All.Order().ToArray(), documented);
        foreach (string code in CommandErrors.All) Assert.Contains($"| `{code}` |", text);
        Assert.Equal(CommandProcessor.CommandSchema, command.RootElement.GetProperty("$id").GetString());
        Assert.Equal(CommandProcessor.ReplySchema, reply.RootElement.GetProperty("$id").GetString());
        using var events = JsonDocument.Parse(File.ReadAllText(Path.Combine(docs, "event.schema.json")));
        var kinds = events.RootElement.GetProperty("properties").GetProperty("kind").GetProperty("enum").EnumerateArray().Select(e => e.GetString()!);
        Assert.Equal(Enum.GetNames<Kiosk.Host.Events.EventKind>(), kinds);
    }

    private async Task<(int ExitCode, string Stdout, string Stderr)> RunAsync(byte[]? stdin, params string[] args)
    {
        var info = new ProcessStartInfo(Environment.ProcessPath is { } p && Path.GetFileNameWithoutExtension(p) == "dotnet" ? p : "dotnet")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        info.ArgumentList.Add(KioskProcess.KioskDll);
        foreach (string a in args) info.ArgumentList.Add(a);
        info.Environment["KIOSK_STATE_DIR"] = _dir;
        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (stdin is not null) await process.StandardInput.BaseStream.WriteAsync(stdin);
        process.StandardInput.Close();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(1));
        await process.WaitForExitAsync(timeout.Token);
        return (process.ExitCode, await stdout, await stderr);
    }
}
