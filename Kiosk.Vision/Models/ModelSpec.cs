using System.Text.Json.Serialization;
using Kiosk.Vision.Faces;

namespace Kiosk.Vision.Models;

/// <summary>Memory order of an image tensor.</summary>
public enum TensorLayout { Nchw, Nhwc }

/// <summary>Channel order the model was trained on. Gray is a single luminance plane.</summary>
public enum ChannelOrder { Rgb, Bgr, Gray }

public enum NormalizationKind
{
    /// <summary>v' = (v - Mean[c]) * Scale[c], v in 0..255.</summary>
    MeanScale,
    /// <summary>v' = (v - mean(image)) / max(std(image), 1/sqrt(N)): FaceNet's "prewhiten".</summary>
    PerImageStandardization,
}

/// <summary>How pixel values become tensor values.</summary>
public sealed record Normalization(NormalizationKind Kind, float[] Mean, float[] Scale)
{
    public static Normalization Raw { get; } = new(NormalizationKind.MeanScale, [0, 0, 0], [1, 1, 1]);
    public static Normalization Standardize { get; } = new(NormalizationKind.PerImageStandardization, [0, 0, 0], [1, 1, 1]);
    public static Normalization MeanScaleAll(float mean, float scale) =>
        new(NormalizationKind.MeanScale, [mean, mean, mean], [scale, scale, scale]);
}

public enum CropKind
{
    /// <summary>Similarity warp of the five landmarks onto a template (least squares over all five).</summary>
    Template,
    /// <summary>The detector's box, grown by a margin on every side, resized to the input (FaceNet/MTCNN style).</summary>
    BoxMargin,
}

/// <summary>How a face is cut out of the frame for a model.</summary>
public sealed record CropSpec(CropKind Kind, PointF[]? Template = null, float Margin = 0f)
{
    /// <summary>Template given in [0,1] crop coordinates, scaled to the crop size when used.</summary>
    public static CropSpec NormalizedTemplate(params PointF[] points) => new(CropKind.Template, points);

    public static CropSpec Box(float marginFraction) => new(CropKind.BoxMargin, null, marginFraction);
}

public enum SimilarityMetric { Cosine }

/// <summary>A model spec that cannot describe a usable model; the message names the property.</summary>
public sealed class ModelSpecException(string message) : Exception(message);

/// <summary>
/// Where and how a model file is run. Backend "onnxruntime" (default), "openvino", or "auto" (OpenVINO on the NCS2
/// when one is plugged in, else OpenVINO on the CPU, else ONNX Runtime); device e.g. "CPU", "MYRIAD", "auto".
/// </summary>
public abstract record ModelFileSpec
{
    public static readonly string[] Backends = ["auto", "onnxruntime", "openvino"];
    public static readonly string[] Precisions = ["FP32", "FP16", "FP16-INT8", "FP32-INT8"];

    /// <summary>Checks every property; throws <see cref="ModelSpecException"/> naming the first bad one.</summary>
    public virtual void Validate()
    {
        string who = $"model spec '{Name}'";
        if (string.IsNullOrWhiteSpace(Name)) throw new ModelSpecException("model spec: name is empty");
        if (string.IsNullOrWhiteSpace(File)) throw new ModelSpecException($"{who}: file is empty");
        if (Sha256 is not null && (Sha256.Length != 64 || !Sha256.All(Uri.IsHexDigit)))
            throw new ModelSpecException($"{who}: sha256 must be 64 hex digits");
        if (!Backends.Contains(Backend)) throw new ModelSpecException($"{who}: backend '{Backend}' is not one of {string.Join(", ", Backends)}");
        if (!IsDeviceName(Device))
            throw new ModelSpecException($"{who}: device '{Device}' is not a device name (auto, CPU, MYRIAD, GPU, NPU, AUTO, HETERO:MYRIAD,CPU ...)");
        if (Backend == "onnxruntime" && !Device.Equals("CPU", StringComparison.OrdinalIgnoreCase) && Device != "auto")
            throw new ModelSpecException($"{who}: ONNX Runtime runs on the CPU here; device '{Device}' needs backend openvino or auto");
        if (Backend == "onnxruntime" && OnnxPath is null)
            throw new ModelSpecException($"{who}: backend onnxruntime needs an ONNX file (file or onnxFile ending in .onnx)");
        if (!File.EndsWith(".onnx", StringComparison.OrdinalIgnoreCase) && !File.EndsWith(".xml", StringComparison.OrdinalIgnoreCase))
            throw new ModelSpecException($"{who}: file must be an ONNX model (.onnx) or an OpenVINO IR (.xml with its .bin beside it)");
        if (OnnxFile is not null && !OnnxFile.EndsWith(".onnx", StringComparison.OrdinalIgnoreCase))
            throw new ModelSpecException($"{who}: onnxFile must end in .onnx");
        if (OnnxSha256 is not null && (OnnxSha256.Length != 64 || !OnnxSha256.All(Uri.IsHexDigit)))
            throw new ModelSpecException($"{who}: onnxSha256 must be 64 hex digits");
        if (File.Contains("{precision}", StringComparison.Ordinal) && (Precision is null || !Precisions.Contains(Precision)))
            throw new ModelSpecException($"{who}: precision '{Precision}' is not one of {string.Join(", ", Precisions)}");
        if (Width is < 1 or > 4096 || Height is < 1 or > 4096) throw new ModelSpecException($"{who}: width and height must be 1..4096");
        if (!Enum.IsDefined(Layout) || !Enum.IsDefined(Channels)) throw new ModelSpecException($"{who}: unknown layout or channel order");
        if (Normalization is null) throw new ModelSpecException($"{who}: normalization is missing");
        if (!Enum.IsDefined(Normalization.Kind)) throw new ModelSpecException($"{who}: unknown normalization kind");
        foreach (var (name, values) in new[] { ("mean", Normalization.Mean), ("scale", Normalization.Scale) })
        {
            // One value for every channel, or one per channel (a grey model uses the first).
            if (values is null || (values.Length != 1 && values.Length != 3))
                throw new ModelSpecException($"{who}: normalization {name} needs 1 or 3 values");
            if (values.Any(v => !float.IsFinite(v))) throw new ModelSpecException($"{who}: normalization {name} has a non-finite value");
        }
        if (Normalization.Scale.Any(v => v == 0)) throw new ModelSpecException($"{who}: normalization scale of 0 erases the image");
    }

    public required string Name { get; init; }
    /// <summary>
    /// Path of the model file, relative to the models cache (&lt;cache&gt;/models) or absolute: an ONNX model or an
    /// OpenVINO IR (.xml, its .bin beside it). "{precision}" stands for <see cref="Precision"/>.
    /// </summary>
    public required string File { get; init; }
    /// <summary>
    /// Expected SHA-256 (hex) of the file; verified when loaded. Null for user-supplied files and for Open Model Zoo
    /// files, which are verified against <see cref="OmzDownloads"/> (the .xml and the .bin).
    /// </summary>
    public string? Sha256 { get; init; }
    /// <summary>
    /// An ONNX export of the same network, for ONNX Runtime when <see cref="File"/> is an IR; null if none. It must take
    /// the very input the IR takes (layout, channel order, normalization: one spec describes both), since a fallback
    /// hands it the tensor already made for the IR; only the shapes can be checked.
    /// </summary>
    public string? OnnxFile { get; init; }
    public string? OnnxSha256 { get; init; }
    /// <summary>Name of the Open Model Zoo model whose pinned files (model.yml hashes) this spec's IR must match.</summary>
    public string? Omz { get; init; }
    /// <summary>IR precision folder (FP32, FP16, FP16-INT8): FP16 suits the NCS2; null where the file has none.</summary>
    public string? Precision { get; init; }
    public string Backend { get; init; } = "onnxruntime";
    public string Device { get; init; } = "CPU";

    /// <summary><see cref="File"/> with its precision filled in.</summary>
    [JsonIgnore]
    public string ResolvedFile => Precision is null ? File : File.Replace("{precision}", Precision, StringComparison.Ordinal);

    /// <summary>The ONNX file ONNX Runtime can run, or null when the spec has only an IR.</summary>
    [JsonIgnore]
    public string? OnnxPath => ResolvedFile.EndsWith(".onnx", StringComparison.OrdinalIgnoreCase) ? ResolvedFile : OnnxFile;

    /// <summary>OpenVINO device names: plain (CPU, GPU.1), or a virtual device with its list (HETERO:MYRIAD,CPU).</summary>
    public static bool IsDeviceName(string? device)
    {
        if (string.IsNullOrEmpty(device) || device.Length > 100) return false;
        if (device == "auto") return true;
        foreach (char c in device)
            if (!(char.IsAsciiLetterUpper(c) || char.IsAsciiDigit(c) || c is '.' or ',' or ':' or '_')) return false;
        return char.IsAsciiLetterUpper(device[0]) && !device.EndsWith(':') && !device.EndsWith(',');
    }
    /// <summary>Input tensor name; null takes the model's first input.</summary>
    public string? InputName { get; init; }
    public TensorLayout Layout { get; init; } = TensorLayout.Nchw;
    public required int Width { get; init; }
    public required int Height { get; init; }
    public ChannelOrder Channels { get; init; } = ChannelOrder.Rgb;
    public required Normalization Normalization { get; init; }
    public string Description { get; init; } = "";
}

/// <summary>A face embedding model: image crop in, one vector out. Output vectors are L2-normalized.</summary>
public sealed record EmbedderSpec : ModelFileSpec
{
    public required CropSpec Crop { get; init; }
    public required int OutputSize { get; init; }
    /// <summary>Output tensor name; null takes the first output.</summary>
    public string? OutputName { get; init; }
    public SimilarityMetric Metric { get; init; } = SimilarityMetric.Cosine;
    /// <summary>
    /// Verification threshold on cosine similarity of L2-normalized embeddings (scale -1..1; same person when
    /// similarity >= threshold). 1:1 only: a 1:N search must raise it for the gallery size.
    /// </summary>
    public required float Threshold { get; init; }
    /// <summary>Where <see cref="Threshold"/> came from, shown to users.</summary>
    public string ThresholdSource { get; init; } = "";
    /// <summary>Also embed the mirrored crop and add both vectors (test-time augmentation, doubles embed time).</summary>
    public bool FlipAugment { get; init; }
    /// <summary>
    /// Mean and standard deviation of this model's impostor scores (cosine similarity between different people) on
    /// a calibration set; NaN when not measured. They raise the threshold with the gallery size
    /// (<see cref="Matching.ThresholdCalibration"/>).
    /// </summary>
    public float ImpostorMean { get; init; } = float.NaN;
    public float ImpostorStd { get; init; } = float.NaN;
    /// <summary>Half-width of the grey zone around the threshold in which a second, accurate tier re-checks.</summary>
    public float GreyZone { get; init; } = 0.08f;

    public override void Validate()
    {
        base.Validate();
        string who = $"model spec '{Name}'";
        if (Crop is null) throw new ModelSpecException($"{who}: crop is missing");
        switch (Crop.Kind)
        {
            case CropKind.Template:
                if (Crop.Template is not { Length: 5 })
                    throw new ModelSpecException($"{who}: crop template needs exactly 5 points (eyes, nose, mouth corners)");
                if (Crop.Template.Any(p => !float.IsFinite(p.X) || !float.IsFinite(p.Y) || p.X is < -1 or > 2 || p.Y is < -1 or > 2))
                    throw new ModelSpecException($"{who}: crop template points are fractions of the crop size (about 0..1)");
                break;
            case CropKind.BoxMargin:
                if (Crop.Margin is < 0 or > 1 || !float.IsFinite(Crop.Margin)) throw new ModelSpecException($"{who}: crop margin must be 0..1");
                break;
            default:
                throw new ModelSpecException($"{who}: unknown crop kind");
        }
        if (OutputSize is < 1 or > 65536) throw new ModelSpecException($"{who}: outputSize must be 1..65536");
        if (!Enum.IsDefined(Metric)) throw new ModelSpecException($"{who}: unknown metric");
        if (Threshold is < -1 or > 1 || !float.IsFinite(Threshold))
            throw new ModelSpecException($"{who}: threshold is a cosine similarity, -1..1");
        if (GreyZone is < 0 or > 1 || !float.IsFinite(GreyZone)) throw new ModelSpecException($"{who}: greyZone must be 0..1");
        if (!float.IsNaN(ImpostorStd) && ImpostorStd <= 0) throw new ModelSpecException($"{who}: impostorStd must be positive");
    }
}

public enum DetectorOutput
{
    /// <summary>Ultra-Light-Fast face detector: `scores` Nx2 (column 1 = face) and `boxes` Nx4 corners in [0,1].</summary>
    UltraFaceDecoded,
    /// <summary>SSD DetectionOutput [1,1,N,7]: image_id, label, conf, x1, y1, x2, y2 in [0,1].</summary>
    SsdDetectionOutput,
}

public sealed record DetectorSpec : ModelFileSpec
{
    public required DetectorOutput Output { get; init; }
    public string? ScoresOutput { get; init; }
    public string? BoxesOutput { get; init; }
    /// <summary>Detection confidence threshold, 0..1.</summary>
    public float ScoreThreshold { get; init; } = 0.65f;
    /// <summary>Intersection over union above which the weaker of two boxes is dropped.</summary>
    public float NmsIoU { get; init; } = 0.4f;
    /// <summary>How many candidates (best first) go through NMS.</summary>
    public int TopK { get; init; } = 750;

    public override void Validate()
    {
        base.Validate();
        string who = $"detector spec '{Name}'";
        if (Layout != TensorLayout.Nchw) throw new ModelSpecException($"{who}: detectors take NCHW input");
        if (!Enum.IsDefined(Output)) throw new ModelSpecException($"{who}: unknown output format");
        if (ScoreThreshold is <= 0 or >= 1) throw new ModelSpecException($"{who}: scoreThreshold must be between 0 and 1");
        if (NmsIoU is <= 0 or > 1) throw new ModelSpecException($"{who}: nmsIoU must be in (0, 1]");
        if (TopK < 1) throw new ModelSpecException($"{who}: topK must be at least 1");
    }
    /// <summary>
    /// Keep the frame's aspect ratio when fitting it to the input (pad the rest with the normalization mean) instead
    /// of stretching it: faces keep their shape in portrait photos. A 4:3 frame on a 4:3 input is the same either way.
    /// </summary>
    public bool KeepAspect { get; init; } = true;
}

public enum LandmarkOutput
{
    /// <summary>136 floats: 68 (x,y) in [0,1] of the crop (iBUG 300-W order).</summary>
    Points68Normalized,
    /// <summary>10 floats: 5 (x,y) in [0,1] of the crop, in template order.</summary>
    Points5Normalized,
}

public sealed record LandmarkSpec : ModelFileSpec
{
    public required LandmarkOutput Output { get; init; }
    /// <summary>Box grown by this fraction of its size on each side before cropping.</summary>
    public float BoxMargin { get; init; }
    /// <summary>
    /// Crop a square of the box's height around its centre (the default landmark model was trained on these), rather
    /// than the box itself stretched to the input (landmarks-regression-retail-0009, as the Open Model Zoo demo does).
    /// </summary>
    public bool Square { get; init; } = true;

    public override void Validate()
    {
        base.Validate();
        if (BoxMargin is < 0 or > 1) throw new ModelSpecException($"landmark spec '{Name}': boxMargin must be 0..1");
        if (!Enum.IsDefined(Output)) throw new ModelSpecException($"landmark spec '{Name}': unknown output format");
    }
}

/// <summary>
/// An embedder spec as a JSON file has it: every property optional, so that the ones left out take the same defaults
/// as in code (the source-generated reader would set missing init-only properties to 0 and null instead).
/// </summary>
internal sealed record EmbedderSpecDocument(
    string? Name, string? File, string? Sha256, string? OnnxFile, string? OnnxSha256, string? Omz, string? Precision,
    string? Backend, string? Device, string? InputName, TensorLayout? Layout,
    int? Width, int? Height, ChannelOrder? Channels, Normalization? Normalization, string? Description, CropSpec? Crop,
    int? OutputSize, string? OutputName, SimilarityMetric? Metric, float? Threshold, string? ThresholdSource,
    bool? FlipAugment, float? ImpostorMean, float? ImpostorStd, float? GreyZone)
{
    public EmbedderSpec ToSpec()
    {
        string who = $"model spec '{Name ?? "?"}'";
        T Need<T>(T? v, string property) where T : struct => v ?? throw new ModelSpecException($"{who}: {property} is missing");
        var spec = new EmbedderSpec
        {
            Name = Name ?? throw new ModelSpecException("model spec: name is missing"),
            File = File ?? throw new ModelSpecException($"{who}: file is missing"),
            Width = Need(Width, "width"),
            Height = Need(Height, "height"),
            Normalization = Normalization ?? throw new ModelSpecException($"{who}: normalization is missing"),
            Crop = Crop ?? throw new ModelSpecException($"{who}: crop is missing"),
            OutputSize = Need(OutputSize, "outputSize"),
            Threshold = Need(Threshold, "threshold"),
        };
        return spec with
        {
            Sha256 = Sha256,
            OnnxFile = OnnxFile,
            OnnxSha256 = OnnxSha256,
            Omz = Omz,
            Precision = Precision,
            Backend = Backend ?? spec.Backend,
            Device = Device ?? spec.Device,
            InputName = InputName,
            Layout = Layout ?? spec.Layout,
            Channels = Channels ?? spec.Channels,
            Description = Description ?? spec.Description,
            OutputName = OutputName,
            Metric = Metric ?? spec.Metric,
            ThresholdSource = ThresholdSource ?? spec.ThresholdSource,
            FlipAugment = FlipAugment ?? spec.FlipAugment,
            ImpostorMean = ImpostorMean ?? spec.ImpostorMean,
            ImpostorStd = ImpostorStd ?? spec.ImpostorStd,
            GreyZone = GreyZone ?? spec.GreyZone,
        };
    }
}

[JsonSerializable(typeof(EmbedderSpec))]
[JsonSerializable(typeof(EmbedderSpecDocument))]
[JsonSourceGenerationOptions(WriteIndented = true, UseStringEnumConverter = true, PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals)]
internal sealed partial class ModelSpecJsonContext : JsonSerializerContext;
