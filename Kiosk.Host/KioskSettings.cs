using Kiosk.Host.Events;
using Kiosk.Host.Gallery;
using Kiosk.Vision.Faces;
using Kiosk.Vision.Inference;
using Kiosk.Vision.Interop.OnnxRuntime;
using Microsoft.Extensions.Configuration;

namespace Kiosk.Host;

/// <summary>A setting that is present but unusable; the message names its key.</summary>
public sealed class SettingsException(string message) : Exception(message);

/// <summary>
/// Settings, later sources overriding earlier: appsettings.json beside the program, /etc/kiosk/*.json in name
/// order, then KIOSK__Section__Key environment variables. Command-line options override them all.
/// </summary>
public sealed record KioskSettings
{
    public InferenceOptions Inference { get; init; } = new();
    public string Embedder { get; init; } = "default";
    /// <summary>Detector confidence threshold, 0..1.</summary>
    public float DetectorMinScore { get; init; } = 0.65f;
    /// <summary>Explicit libonnxruntime path; empty = the usual search (see OrtLibrary).</summary>
    public string OnnxRuntimeLibrary { get; init; } = "";
    /// <summary>Model of the accurate tier that re-checks doubtful matches; empty: the fast model decides alone.</summary>
    public string AccurateEmbedder { get; init; } = "";
    public GalleryOptions Gallery { get; init; } = new() { DatabasePath = GalleryOptions.DefaultDatabasePath, KeyPath = GalleryOptions.DefaultKeyPath };
    public EventStoreOptions Events { get; init; } = new() { DatabasePath = EventStoreOptions.DefaultDatabasePath };
    public double FalseMatchRate { get; init; } = 1e-4;
    public float Margin { get; init; } = 0.05f;
    public FaceQualityPolicy Quality { get; init; } = new();
    public Kiosk.Vision.Matching.VectorPrecision IndexPrecision { get; init; } = Kiosk.Vision.Matching.VectorPrecision.Float32;

    /// <summary>
    /// Where the kiosk keeps its state: $KIOSK_STATE_DIR (the service sets /var/lib/kiosk), else $XDG_DATA_HOME/kiosk,
    /// else ~/.local/share/kiosk.
    /// </summary>
    public static string StateDir =>
        Environment.GetEnvironmentVariable("KIOSK_STATE_DIR") is { Length: > 0 } s ? s
        : Environment.GetEnvironmentVariable("XDG_DATA_HOME") is { Length: > 0 } x ? Path.Combine(x, "kiosk")
        : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".local", "share", "kiosk");

    public static string SystemConfigDir { get; set; } = "/etc/kiosk";

    public static IConfiguration BuildConfiguration()
    {
        var files = new List<string> { Path.Combine(AppContext.BaseDirectory, "appsettings.json") };
        if (Directory.Exists(SystemConfigDir))
            files.AddRange(Directory.GetFiles(SystemConfigDir, "*.json").Order(StringComparer.Ordinal));
        var builder = new ConfigurationBuilder();
        foreach (var file in files) builder.AddJsonFile(file, optional: true, reloadOnChange: false);
        try
        {
            return builder.AddEnvironmentVariables("KIOSK__").Build();
        }
        catch (Exception e) when (e is InvalidDataException or FormatException or System.Text.Json.JsonException or IOException or UnauthorizedAccessException)
        {
            // A broken settings file must not look like a crash (under systemd: a restart loop with core dumps).
            throw new SettingsException($"settings cannot be read ({string.Join(", ", files)}): {e.Message}");
        }
    }

    /// <summary>Reads and validates the settings; every error names its key.</summary>
    public static KioskSettings Load(IConfiguration config)
    {
        var s = new KioskSettings
        {
            Inference = new InferenceOptions
            {
                Threads = Get(config, "Inference:Threads", 2),
                AllowSpinning = Get(config, "Inference:AllowSpinning", false),
            },
            Embedder = config["Models:Embedder"] is { Length: > 0 } e ? e : "default",
            DetectorMinScore = Get(config, "Models:DetectorMinScore", 0.65f),
            OnnxRuntimeLibrary = config["OnnxRuntime:LibraryPath"] ?? "",
            AccurateEmbedder = config["Models:Accurate"] ?? "",
            Gallery = GalleryOptions.Load(config),
            Events = EventStoreOptions.Load(config),
            FalseMatchRate = Get(config, "Identification:FalseMatchRate", 1e-4),
            Margin = Get(config, "Identification:Margin", 0.05f),
            IndexPrecision = config["Identification:IndexPrecision"] is { Length: > 0 } prec
                ? (Enum.TryParse<Kiosk.Vision.Matching.VectorPrecision>(prec, ignoreCase: true, out var pv) && Enum.IsDefined(pv) ? pv
                    : throw new SettingsException($"Identification:IndexPrecision is '{prec}'; it must be Float32, Float16 or Int8"))
                : Kiosk.Vision.Matching.VectorPrecision.Float32,
            Quality = new FaceQualityPolicy
            {
                MinFaceSize = Get(config, "Identification:Quality:MinFaceSize", 80f),
                MinInterocularDistance = Get(config, "Identification:Quality:MinInterocularDistance", 24f),
                MinSharpness = Get(config, "Identification:Quality:MinSharpness", 100.0),
                MaxYawDegrees = Get(config, "Identification:Quality:MaxYawDegrees", 30f),
            },
        };
        if (s.Inference.Threads is < 0 or > 64) throw new SettingsException($"Inference:Threads is {s.Inference.Threads}; it must be 0..64 (0 = one per core)");
        if (s.DetectorMinScore is <= 0 or >= 1) throw new SettingsException($"Models:DetectorMinScore is {s.DetectorMinScore}; it must be between 0 and 1");
        if (s.FalseMatchRate is <= 0 or >= 1) throw new SettingsException($"Identification:FalseMatchRate is {s.FalseMatchRate}; it must be between 0 and 1");
        if (s.Margin is < 0 or > 1) throw new SettingsException($"Identification:Margin is {s.Margin}; it must be 0..1 (cosine similarity)");
        try { s.Quality.Validate("Identification:Quality"); }
        catch (ArgumentOutOfRangeException bad) { throw new SettingsException(bad.Message.Split(" (Parameter")[0]); }
        if (Path.GetFullPath(s.Events.DatabasePath) == Path.GetFullPath(s.Gallery.DatabasePath))
            throw new SettingsException($"Events:DatabasePath is the gallery's file ({s.Gallery.DatabasePath}); the event log needs its own");
        if (s.OnnxRuntimeLibrary.Length > 0 && !File.Exists(s.OnnxRuntimeLibrary))
            throw new SettingsException($"OnnxRuntime:LibraryPath is {s.OnnxRuntimeLibrary}, which does not exist");
        return s;
    }

    /// <summary>Makes the settings that are process-wide take effect (the ONNX Runtime library path).</summary>
    public void Apply()
    {
        if (OnnxRuntimeLibrary.Length > 0) OrtLibrary.Configure(OnnxRuntimeLibrary);
    }

    /// <summary>A typed value of <paramref name="key"/>, the fallback when absent, a SettingsException naming the key when malformed.</summary>
    internal static T Get<T>(IConfiguration config, string key, T fallback) where T : IParsable<T>
    {
        string? text = config[key];
        if (string.IsNullOrWhiteSpace(text)) return fallback;
        return T.TryParse(text, System.Globalization.CultureInfo.InvariantCulture, out var value)
            ? value
            : throw new SettingsException($"{key} is '{text}', not a valid {typeof(T).Name}");
    }
}
