using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Kiosk.Hardware.Door;
using Kiosk.Host.Events;
using Kiosk.Host.Gallery;
using Kiosk.Host.Mqtt;
using Kiosk.Host.Mqtt.Commands;
using Kiosk.Tests.Events;
using Kiosk.Tests.Gallery;
using Kiosk.Vision.Faces;
using Kiosk.Vision.Inference;
using Microsoft.Extensions.Logging;

namespace Kiosk.Tests.Mqtt;

/// <summary>
/// What a command needs, for real: a gallery in a temporary folder with the real models, an event log, a signing key
/// file (0600). Builds commands as JSON and signs them as an integrator would (<see cref="CommandKey.Envelope"/>).
/// </summary>
internal sealed class CommandRig : IDisposable
{
    public GalleryDir GalleryDir { get; } = new();
    public EventDir EventDir { get; } = new();
    public GalleryService Gallery { get; }
    public EventStore Events { get; }
    public string KeyFile { get; }
    public CommandKey Key { get; }
    public KioskTopics Topics { get; }

    public CommandRig(string? site = null)
    {
        Gallery = new GalleryService(GalleryDir.Open(), keepCrops: true, new FacePipelineOptions { Inference = new InferenceOptions { Threads = 1 } },
            new IdentificationSettings());
        Events = EventDir.Open();
        KeyFile = Path.Combine(GalleryDir.Root, "command.key");
        CommandKey.CreateFile(KeyFile);
        Key = CommandKey.Load(KeyFile, "test");
        Topics = new KioskTopics(site ?? "hq", "front-door");
    }

    public CommandOptions Options(bool requireSigned = true, bool withKey = true, bool allowOpenDoor = false, int maxImages = 10) => new()
    {
        CommandKeyFile = withKey ? KeyFile : null,
        RequireSignedCommands = requireSigned,
        AllowOpenDoor = allowOpenDoor,
        MaxImagesPerCommand = maxImages,
    };

    public CommandProcessor Processor(CommandOptions? options = null, DoorController? door = null, ILogger? logger = null, TimeProvider? time = null) =>
        new(Gallery, Topics, options ?? Options(), Events, door, logger, time);

    public int People => Gallery.Store.ListPeople().Count;
    public long Revision => Gallery.Store.Revision;

    /// <summary>A command with its header filled in; add the command's own fields.</summary>
    public static JsonObject Command(string command, string requestId, DateTimeOffset? issued = null) => new()
    {
        ["schema"] = CommandProcessor.CommandSchema,
        ["command"] = command,
        ["request_id"] = requestId,
        ["issued_utc"] = (issued ?? DateTimeOffset.UtcNow).UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", System.Globalization.CultureInfo.InvariantCulture),
    };

    public byte[] Signed(JsonObject command) => Key.Envelope(Encoding.UTF8.GetBytes(command.ToJsonString()));

    public byte[] Signed(string commandJson) => Key.Envelope(Encoding.UTF8.GetBytes(commandJson));

    public static string Photo(string name) => Convert.ToBase64String(File.ReadAllBytes(Path.Combine(TestPaths.PairsDev, name)));

    public static JsonArray Photos(params string[] names) => [.. names.Select(n => (JsonNode)Photo(n))];

    /// <summary>The fast model's embedding of the one face of a photo, as the kiosk itself would make it.</summary>
    public float[] Embedding(string photo) =>
        Assert.Single(Gallery.Pipeline.Analyze(Kiosk.Tests.Faces.PipelineFixture.Load(photo))).Embedding;

    public void Dispose()
    {
        Key.Dispose();
        Events.Dispose();
        Gallery.Dispose();
        EventDir.Dispose();
        GalleryDir.Dispose();
    }
}

/// <summary>A reply, parsed.</summary>
internal sealed record ParsedReply(string Topic, JsonElement Root)
{
    public static ParsedReply From(CommandReply reply) => From(reply.Topic, reply.Payload);

    public static ParsedReply From(string topic, byte[] payload)
    {
        using var doc = JsonDocument.Parse(payload);
        return new ParsedReply(topic, doc.RootElement.Clone());
    }

    public bool Ok => Root.GetProperty("ok").GetBoolean();
    public string? RequestId => Root.GetProperty("request_id").GetString();
    public string? Code => Root.TryGetProperty("error", out var e) ? e.GetProperty("code").GetString() : null;
    public string Message => Root.TryGetProperty("error", out var e) ? e.GetProperty("message").GetString()! : "";
    public JsonElement Result => Root.GetProperty("result");
    public JsonElement Person => Result.GetProperty("person");

    public override string ToString() => Root.GetRawText();
}
