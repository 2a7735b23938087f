using Kiosk.Vision.Faces;

namespace Kiosk.Vision.Models;

/// <summary>
/// The built-in model specs. Each is data: file, tensor layout, pre-processing, crop, output, threshold. Files are
/// relative to &lt;cache&gt;/models; the default set comes from the npm package faceplugin-face-recognition-js@0.0.1
/// (scripts/setup.sh), the Open Model Zoo ones from `kiosk models fetch`.
/// </summary>
public static class ModelCatalog
{
    /// <summary>The 112x112 five-point template of the default embedder (ArcFace/InsightFace layout), in pixels.</summary>
    public static readonly PointF[] Template112 =
    [
        new(38.2946f, 51.6963f), new(73.5318f, 51.5014f), new(56.0252f, 71.7366f),
        new(41.5493f, 92.3655f), new(70.7299f, 92.2041f),
    ];

    /// <summary>The five-point template of face-reidentification-retail-0095, normalized to [0,1] (model card).</summary>
    public static readonly PointF[] TemplateReid0095 =
    [
        new(0.31556875f, 0.46157411f), new(0.68262292f, 0.46157411f), new(0.50026250f, 0.64050536f),
        new(0.34947188f, 0.82469196f), new(0.65343646f, 0.82469196f),
    ];

    public static DetectorSpec DefaultDetector { get; } = new()
    {
        Name = "fr_detect",
        Description = "Ultra-light face detector, 320x240 (faceplugin package)",
        File = "default/fr_detect.onnx",
        Sha256 = "6c0256ccd3164f844736a401faf936ec2930764a87ae39442180887d0c5c8854",
        InputName = "input",
        Width = 320, Height = 240,
        Channels = ChannelOrder.Rgb,
        Normalization = Normalization.MeanScaleAll(127f, 1f / 128f),
        Output = DetectorOutput.UltraFaceDecoded,
        ScoresOutput = "scores", BoxesOutput = "boxes",
        ScoreThreshold = 0.65f, NmsIoU = 0.4f, TopK = 750,
    };

    public static LandmarkSpec DefaultLandmarks { get; } = new()
    {
        Name = "fr_landmark",
        Description = "68-point landmarks on a 64x64 grey crop of the square face box (faceplugin package)",
        File = "default/fr_landmark.onnx",
        Sha256 = "f10b0ba1d2a8a099adefede1ebf3733e44fe370715e7303dbeb7f59c02142258",
        InputName = "input",
        Width = 64, Height = 64,
        Channels = ChannelOrder.Gray,
        Normalization = Normalization.MeanScaleAll(0f, 1f / 256f),
        Output = LandmarkOutput.Points68Normalized,
    };

    public static EmbedderSpec Default { get; } = new()
    {
        Name = "default",
        Description = "fr_feature: 112x112 RGB, 512-d (faceplugin package)",
        File = "default/fr_feature.onnx",
        Sha256 = "87aacdfe57510db2af90c0251df680e8eec88f122ee94712121d09bcaaaf3581",
        InputName = "input",
        Width = 112, Height = 112,
        Channels = ChannelOrder.Rgb,
        Normalization = Normalization.MeanScaleAll(127f, 1f / 128f),
        Crop = CropSpec.NormalizedTemplate(Normalize(Template112, 112, 112)),
        OutputSize = 512,
        Threshold = 0.40f,
        ThresholdSource = "best-accuracy threshold on shared/datasets/pairs-dev (280 pairs: a sanity check, not a calibration)",
        // 478 impostor scores of quality-gated faces of pairs-dev (eval identify): small, so a starting point only.
        ImpostorMean = 0.004f,
        ImpostorStd = 0.106f,
    };

    /// <summary>
    /// The default model with test-time augmentation (the mirrored crop embedded too and averaged): a second,
    /// slower spec of the same weights that can serve as the accurate tier until the Open Model Zoo models are in.
    /// </summary>
    public static EmbedderSpec DefaultTta { get; } = Default with
    {
        Name = "default-tta",
        Description = "fr_feature with the mirrored crop averaged in: 112x112 RGB, 512-d, twice the embed time",
        FlipAugment = true,
    };

    public static EmbedderSpec Reid0095 { get; } = new()
    {
        Name = "reid-0095",
        Description = "face-reidentification-retail-0095 (Open Model Zoo): 128x128 BGR raw, 256-d",
        File = "omz/face-reidentification-retail-0095/{precision}/face-reidentification-retail-0095.xml",
        Omz = "face-reidentification-retail-0095",
        Precision = "FP32",
        Backend = "openvino",
        Device = "auto",
        Width = 128, Height = 128,
        Channels = ChannelOrder.Bgr,
        Normalization = Normalization.Raw,
        Crop = CropSpec.NormalizedTemplate(TemplateReid0095),
        OutputSize = 256,
        // The demo's distance is (1 - cosine) / 2 (scipy's cosine distance halved), unknown above 0.3: cosine >= 0.40.
        Threshold = 0.40f,
        ThresholdSource = "the Open Model Zoo face recognition demo's -t_id 0.3 on (1 - cosine)/2, i.e. cosine 0.40; not calibrated here (no OpenVINO runtime to run the model)",
    };

    public static EmbedderSpec FaceNet20180408 { get; } = new()
    {
        Name = "facenet-20180408",
        Description = "facenet-20180408-102900 IR (Open Model Zoo converter: BGR in, mean 127.5 and scale 128 folded in), 512-d",
        File = "omz/facenet-20180408-102900/{precision}/facenet-20180408-102900.xml",
        // The IR is converted on the user's machine (`kiosk models fetch facenet-20180408-102900` prints how): its
        // bytes depend on the converter's version, so only the original archive is pinned, not the IR.
        Omz = "facenet-20180408-102900",
        Precision = "FP32",
        Backend = "openvino",
        Device = "auto",
        Width = 160, Height = 160,
        // The converter keeps the TensorFlow graph's layout: input image_batch 1x160x160x3 (NHWC), BGR after
        // --reverse_input_channels; output embeddings, 512 floats.
        Layout = TensorLayout.Nhwc,
        Channels = ChannelOrder.Bgr,
        // The converted IR subtracts 127.5 and divides by 128 itself; an ONNX export of the original graph takes
        // RGB with MeanScaleAll(127.5, 1/128), and the older FaceNet of the GstInference element takes
        // Normalization.Standardize: all three are the same spec with other values.
        Normalization = Normalization.Raw,
        Crop = CropSpec.Box(0.10f),
        OutputSize = 512,
        Threshold = 0.60f,
        ThresholdSource = "FaceNet cosine-distance 0.4 commonly used for this model family; not yet calibrated here",
    };

    /// <summary>face-detection-retail-0004 (SqueezeNet-light SSD, 300x300 BGR raw): detection_out 1x1x200x7, NMS done inside.</summary>
    public static DetectorSpec OmzDetector0004 { get; } = OmzDetector("face-detection-retail-0004",
        "Open Model Zoo face detector (SqueezeNet-light SSD), 300x300 BGR");

    /// <summary>face-detection-retail-0005 (MobileNetV2 SSD, 300x300 BGR raw): same output as 0004, more accurate.</summary>
    public static DetectorSpec OmzDetector0005 { get; } = OmzDetector("face-detection-retail-0005",
        "Open Model Zoo face detector (MobileNetV2 SSD), 300x300 BGR");

    private static DetectorSpec OmzDetector(string name, string description) => new()
    {
        Name = name,
        Description = description,
        File = $"omz/{name}/{{precision}}/{name}.xml",
        Omz = name,
        Precision = "FP32",
        Backend = "openvino",
        Device = "auto",
        Width = 300, Height = 300,
        Channels = ChannelOrder.Bgr,
        Normalization = Normalization.Raw,
        Output = DetectorOutput.SsdDetectionOutput,
        // The model resizes the whole frame to its input (no letterbox), as the Open Model Zoo demos feed it.
        KeepAspect = false,
        ScoreThreshold = 0.6f, // the face recognition demo's default (-t_fd 0.6)
        NmsIoU = 0.5f,
        TopK = 200,
    };

    /// <summary>landmarks-regression-retail-0009: 48x48 BGR raw crop of the face box, 5 points (eyes, nose, mouth corners).</summary>
    public static LandmarkSpec OmzLandmarks0009 { get; } = new()
    {
        Name = "landmarks-regression-retail-0009",
        Description = "Open Model Zoo 5-point landmarks on a 48x48 BGR crop of the face box",
        File = "omz/landmarks-regression-retail-0009/{precision}/landmarks-regression-retail-0009.xml",
        Omz = "landmarks-regression-retail-0009",
        Precision = "FP32",
        Backend = "openvino",
        Device = "auto",
        Width = 48, Height = 48,
        Channels = ChannelOrder.Bgr,
        Normalization = Normalization.Raw,
        Output = LandmarkOutput.Points5Normalized,
        // The demo crops the detector's box enlarged 1.15 times about its centre (-exp_r_fd 1.15), as it is, not square.
        BoxMargin = 0.075f,
        Square = false,
    };

    public static IReadOnlyList<DetectorSpec> Detectors { get; } = [DefaultDetector, OmzDetector0004, OmzDetector0005];
    public static IReadOnlyList<LandmarkSpec> LandmarkModels { get; } = [DefaultLandmarks, OmzLandmarks0009];

    public static DetectorSpec? FindDetector(string name) =>
        Detectors.FirstOrDefault(e => string.Equals(e.Name, name, StringComparison.OrdinalIgnoreCase));

    public static LandmarkSpec? FindLandmarks(string name) =>
        LandmarkModels.FirstOrDefault(e => string.Equals(e.Name, name, StringComparison.OrdinalIgnoreCase));

    /// <summary>Every built-in spec, detectors first: what `models list` and `doctor` show.</summary>
    public static IReadOnlyList<ModelFileSpec> All => [.. Detectors, .. LandmarkModels, .. Embedders];

    public static IReadOnlyList<EmbedderSpec> Embedders { get; } = [Default, DefaultTta, Reid0095, FaceNet20180408];

    public static EmbedderSpec? FindEmbedder(string name) =>
        Embedders.FirstOrDefault(e => string.Equals(e.Name, name, StringComparison.OrdinalIgnoreCase));

    public static EmbedderSpec GetEmbedder(string name) =>
        FindEmbedder(name) ?? throw new ModelSpecException($"Unknown model '{name}'. Known: {string.Join(", ", Embedders.Select(e => e.Name))}");

    /// <summary>
    /// Reads an embedder spec from JSON (camelCase properties, enum names as strings) and validates it. Properties
    /// left out take the same defaults as in code.
    /// </summary>
    public static EmbedderSpec LoadEmbedderSpec(string json)
    {
        var doc = System.Text.Json.JsonSerializer.Deserialize(json, ModelSpecJsonContext.Default.EmbedderSpecDocument)
                  ?? throw new System.Text.Json.JsonException("empty model spec");
        var spec = doc.ToSpec();
        spec.Validate();
        return spec;
    }

    public static string ToJson(EmbedderSpec spec) =>
        System.Text.Json.JsonSerializer.Serialize(spec, ModelSpecJsonContext.Default.EmbedderSpec);

    private static PointF[] Normalize(PointF[] pixels, float w, float h) => pixels.Select(p => new PointF(p.X / w, p.Y / h)).ToArray();
}
