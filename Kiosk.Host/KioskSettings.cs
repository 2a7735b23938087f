using Kiosk.Host.Events;
using Kiosk.Host.Gallery;
using Kiosk.Vision.Faces;
using Kiosk.Vision.Inference;
using Kiosk.Vision.Interop.OnnxRuntime;
using Kiosk.Vision.Interop.OpenVino;
using Kiosk.Vision.Models;
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
    /// <summary>Detector confidence threshold, 0..1; null: the detector spec's own (0.65 fr_detect, 0.6 the zoo's).</summary>
    public float? DetectorMinScore { get; init; }
    /// <summary>Explicit libonnxruntime path; empty = the usual search (see OrtLibrary).</summary>
    public string OnnxRuntimeLibrary { get; init; } = "";
    /// <summary>Model of the accurate tier that re-checks doubtful matches; empty: the fast model decides alone.</summary>
    public string AccurateEmbedder { get; init; } = "";
    /// <summary>Face detector spec by name (fr_detect, face-detection-retail-0004, face-detection-retail-0005).</summary>
    public string Detector { get; init; } = "fr_detect";
    /// <summary>Landmark spec by name (fr_landmark, landmarks-regression-retail-0009).</summary>
    public string Landmarks { get; init; } = "fr_landmark";
    /// <summary>IR precision of the Open Model Zoo models (FP32, FP16, FP16-INT8); empty: each spec's own (FP32).</summary>
    public string Precision { get; init; } = "";
    /// <summary>A server with the Open Model Zoo's paths, used by `models fetch` instead of the official host; empty: official.</summary>
    public string ModelMirror { get; init; } = "";
    /// <summary>Explicit libopenvino_c path; empty = the usual search (see OvLibrary).</summary>
    public string OpenVinoLibrary { get; init; } = "";
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
                Backend = config["Inference:Backend"] is { Length: > 0 } b ? b : null,
                Device = config["Inference:Device"] is { Length: > 0 } d ? d : null,
                Fallback = Get(config, "Inference:Fallback", true),
            },
            Detector = config["Models:Detector"] is { Length: > 0 } det ? det : "fr_detect",
            Landmarks = config["Models:Landmarks"] is { Length: > 0 } lm ? lm : "fr_landmark",
            Precision = config["Models:Precision"] ?? "",
            ModelMirror = config["Models:Mirror"] ?? "",
            OpenVinoLibrary = config["OpenVino:LibraryPath"] ?? "",
            Embedder = config["Models:Embedder"] is { Length: > 0 } e ? e : "default",
            DetectorMinScore = config["Models:DetectorMinScore"] is { Length: > 0 } ? Get(config, "Models:DetectorMinScore", 0f) : null,
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
        if (s.Inference.Backend is { } backend && !ModelFileSpec.Backends.Contains(backend))
            throw new SettingsException($"Inference:Backend is '{backend}'; it must be one of {string.Join(", ", ModelFileSpec.Backends)} (empty: each model's own)");
        if (s.Inference.Device is { } device && !ModelFileSpec.IsDeviceName(device))
            throw new SettingsException($"Inference:Device is '{device}'; it must be auto or an OpenVINO device name (CPU, MYRIAD, GPU, NPU, AUTO, HETERO:MYRIAD,CPU)");
        if (ModelCatalog.FindDetector(s.Detector) is null)
            throw new SettingsException($"Models:Detector is '{s.Detector}'; built in: {string.Join(", ", ModelCatalog.Detectors.Select(d => d.Name))}");
        if (ModelCatalog.FindLandmarks(s.Landmarks) is null)
            throw new SettingsException($"Models:Landmarks is '{s.Landmarks}'; built in: {string.Join(", ", ModelCatalog.LandmarkModels.Select(d => d.Name))}");
        if (s.Precision.Length > 0 && !ModelFileSpec.Precisions.Contains(s.Precision))
            throw new SettingsException($"Models:Precision is '{s.Precision}'; it must be one of {string.Join(", ", ModelFileSpec.Precisions)} (empty: FP32)");
        if (s.ModelMirror.Length > 0 && !(Uri.TryCreate(s.ModelMirror, UriKind.Absolute, out var mirror) && mirror.Scheme is "http" or "https"))
            throw new SettingsException($"Models:Mirror is '{s.ModelMirror}'; it must be an http(s) URL");
        if (s.OpenVinoLibrary.Length > 0 && !File.Exists(s.OpenVinoLibrary))
            throw new SettingsException($"OpenVino:LibraryPath is {s.OpenVinoLibrary}, which does not exist");
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
        if (OpenVinoLibrary.Length > 0) OvLibrary.Configure(OpenVinoLibrary);
    }

    /// <summary>The configured detector, with Models:DetectorMinScore and Models:Precision applied.</summary>
    public DetectorSpec DetectorSpec()
    {
        var spec = WithPrecision(ModelCatalog.FindDetector(Detector)!);
        return DetectorMinScore is { } min ? spec with { ScoreThreshold = min } : spec;
    }

    public LandmarkSpec LandmarkSpec() => WithPrecision(ModelCatalog.FindLandmarks(Landmarks)!);

    /// <summary>A built-in embedder by name, or a JSON spec file, with Models:Precision applied.</summary>
    public EmbedderSpec EmbedderSpec(string nameOrPath) => WithPrecision(Cli.CommonOptions.ResolveEmbedder(nameOrPath));

    /// <summary>Models:Precision for the specs whose file has a precision folder (the Open Model Zoo IRs).</summary>
    public T WithPrecision<T>(T spec) where T : ModelFileSpec =>
        Precision.Length > 0 && spec.Precision is not null ? spec with { Precision = Precision } : spec;

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
