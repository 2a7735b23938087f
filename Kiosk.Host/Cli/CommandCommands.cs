using System.CommandLine;
using System.Text.Json;
using Kiosk.Host.Mqtt;
using Kiosk.Host.Mqtt.Commands;

namespace Kiosk.Host.Cli;

/// <summary>command sign / new-key: tools for whoever sends the kiosk MQTT commands (docs/mqtt/commands.md).</summary>
internal static class CommandCommands
{
    public static Command Command()
    {
        var command = new Command("command", "Sign MQTT commands for a kiosk, and make the key they are signed with");
        command.Subcommands.Add(Sign());
        command.Subcommands.Add(NewKey());
        return command;
    }

    private static Command Sign()
    {
        var keyFile = new Option<FileInfo>("--key-file") { Description = "The key file (as Mqtt:CommandKeyFile on the kiosk)", Required = true };
        var file = new Option<FileInfo?>("--file") { Description = "The command (JSON); standard input when not given" };
        var cmd = new Command("sign", "Print the signed envelope {\"body\": ..., \"signature\": ...} of a command, to publish as it is") { keyFile, file };
        cmd.SetAction(r =>
        {
            using var key = CommandKey.Load(r.GetValue(keyFile)!.FullName, "--key-file");
            byte[] body = r.GetValue(file) is { } f ? ReadFile(f) : ReadStandardInput();
            CheckIsCommand(body);
            byte[] envelope = key.Envelope(body);
            using var stdout = Console.OpenStandardOutput();
            // Written as bytes: the body inside must stay exactly the bytes that were signed.
            stdout.Write(envelope);
            stdout.Write("\n"u8);
            return 0;
        });
        return cmd;
    }

    private static Command NewKey()
    {
        var output = new Option<FileInfo>("--out") { Description = "Where to write the key (created mode 0600; never over an existing file)", Required = true };
        var cmd = new Command("new-key", "Write a new random command key: give the same file to the kiosk (Mqtt:CommandKeyFile) and to the signer") { output };
        cmd.SetAction(r =>
        {
            var path = r.GetValue(output)!.FullName;
            if (File.Exists(path))
                throw new UsageException($"{path} exists; a new key there would lock out every signer holding the old one: remove it first, or choose another file");
            try
            {
                CommandKey.CreateFile(path);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new UsageException($"cannot write {path}: {e.Message}");
            }
            Console.WriteLine($"wrote a new command key to {path} (mode 0600); copy it to the kiosk as Mqtt:CommandKeyFile by a safe channel");
            return 0;
        });
        return cmd;
    }

    private static byte[] ReadFile(FileInfo f)
    {
        if (!f.Exists) throw new FileNotFoundException($"command file {f.FullName} not found");
        if (f.Length > MqttOptions.MaxPacketBytes) throw new UsageException($"{f.FullName} is {f.Length} bytes; an MQTT message holds at most {MqttOptions.MaxPacketBytes}");
        return File.ReadAllBytes(f.FullName);
    }

    private static byte[] ReadStandardInput()
    {
        using var stdin = Console.OpenStandardInput();
        using var buffer = new MemoryStream();
        var chunk = new byte[81920];
        int n;
        while ((n = stdin.Read(chunk)) > 0)
        {
            buffer.Write(chunk, 0, n);
            if (buffer.Length > MqttOptions.MaxPacketBytes)
                throw new UsageException($"standard input holds more than {MqttOptions.MaxPacketBytes} bytes, more than an MQTT message can carry");
        }
        return buffer.ToArray();
    }

    /// <summary>A signature over something the kiosk will refuse anyway helps nobody: say so now, with the reason.</summary>
    private static void CheckIsCommand(byte[] body)
    {
        try
        {
            using var doc = JsonDocument.Parse(body, new JsonDocumentOptions { MaxDepth = CommandProcessor.MaxJsonDepth });
            if (doc.RootElement.ValueKind != JsonValueKind.Object)
                throw new UsageException("the command is not a JSON object");
            if (!doc.RootElement.TryGetProperty("schema", out var schema) || schema.ValueKind != JsonValueKind.String || schema.GetString() != CommandProcessor.CommandSchema)
                throw new UsageException($"the command has no \"schema\": \"{CommandProcessor.CommandSchema}\"");
        }
        catch (JsonException e)
        {
            throw new UsageException($"the command is not valid JSON: {e.Message}");
        }
    }
}
