using Kiosk.Tests.Faces;
using Kiosk.Vision.Faces;
using Kiosk.Vision.Inference;
using Kiosk.Vision.Models;

namespace Kiosk.Tests.Inference;

[Collection(ModelCollection.Name)]
public sealed class ModelSpecTests
{
    [Fact]
    public void A_spec_whose_input_size_differs_from_the_model_is_refused_naming_both()
    {
        var wrong = ModelCatalog.Default with { Name = "wrong-size", Width = 160, Height = 160 };
        var e = Assert.Throws<ModelSpecMismatchException>(() => new FaceEmbedder(wrong, new InferenceOptions { Threads = 1 }));
        Assert.Contains("1x3x112x112", e.Message);
        Assert.Contains("1x3x160x160", e.Message);
    }

    [Fact]
    public void A_spec_whose_output_size_differs_from_the_model_is_refused()
    {
        var wrong = ModelCatalog.Default with { Name = "wrong-output", OutputSize = 128 };
        var e = Assert.Throws<ModelSpecMismatchException>(() => new FaceEmbedder(wrong, new InferenceOptions { Threads = 1 }));
        Assert.Contains("128", e.Message);
    }

    [Fact]
    public void A_missing_model_file_names_the_file_and_the_fix()
    {
        var missing = ModelCatalog.Default with { Name = "missing", File = "/nonexistent/model.onnx" };
        var e = Assert.Throws<ModelFileException>(() => ModelFiles.Resolve(missing));
        Assert.Contains("/nonexistent/model.onnx", e.Message);
        Assert.Contains("setup.sh", e.Message);
    }

    [Fact]
    public void A_model_file_that_does_not_match_its_hash_is_never_used()
    {
        string path = Path.Combine(Path.GetTempPath(), $"kiosk-corrupt-{Guid.NewGuid():N}.onnx");
        var bytes = File.ReadAllBytes(ModelFiles.Resolve(ModelCatalog.DefaultLandmarks));
        bytes[bytes.Length / 2] ^= 0xFF;
        File.WriteAllBytes(path, bytes);
        try
        {
            var spec = ModelCatalog.DefaultLandmarks with { File = path };
            var e = Assert.Throws<ModelFileException>(() => ModelFiles.Open(spec, new InferenceOptions()));
            Assert.Contains("SHA-256", e.Message);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void Specs_round_trip_through_json_with_both_facenet_normalizations()
    {
        var standardized = ModelCatalog.FaceNet20180408 with { Name = "facenet-gst", Normalization = Normalization.Standardize, Channels = ChannelOrder.Rgb, OutputSize = 128 };
        foreach (var spec in new[] { ModelCatalog.Default, ModelCatalog.Reid0095, ModelCatalog.FaceNet20180408, standardized })
        {
            var back = ModelCatalog.LoadEmbedderSpec(ModelCatalog.ToJson(spec));
            Assert.Equal(spec.Name, back.Name);
            Assert.Equal(spec.Normalization.Kind, back.Normalization.Kind);
            Assert.Equal(spec.Normalization.Mean, back.Normalization.Mean);
            Assert.Equal(spec.Normalization.Scale, back.Normalization.Scale);
            Assert.Equal(spec.Crop.Kind, back.Crop.Kind);
            Assert.Equal(spec.Crop.Template, back.Crop.Template);
            Assert.Equal(spec.Channels, back.Channels);
            Assert.Equal(spec.OutputSize, back.OutputSize);
            Assert.Equal(spec.Threshold, back.Threshold);
        }
        Assert.Contains("\"perImageStandardization\"", ModelCatalog.ToJson(standardized), StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public void A_minimal_hand_written_spec_takes_the_defaults_of_what_it_leaves_out()
    {
        var spec = ModelCatalog.LoadEmbedderSpec("""
            {
              "name": "mine", "file": "default/fr_feature.onnx", "width": 112, "height": 112,
              "normalization": { "kind": "MeanScale", "mean": [127], "scale": [0.0078125] },
              "crop": { "kind": "Template", "template": [ {"x":0.34,"y":0.46}, {"x":0.66,"y":0.46}, {"x":0.5,"y":0.64}, {"x":0.37,"y":0.82}, {"x":0.63,"y":0.82} ] },
              "outputSize": 512, "threshold": 0.4
            }
            """);
        Assert.Equal("onnxruntime", spec.Backend);
        Assert.Equal("CPU", spec.Device);
        Assert.Equal(TensorLayout.Nchw, spec.Layout);
        Assert.Equal(ChannelOrder.Rgb, spec.Channels);
        using var embedder = new FaceEmbedder(spec, new InferenceOptions { Threads = 1 }); // and it runs
    }

    [Theory]
    [InlineData("\"template\": [ {\"x\":0.3,\"y\":0.4}, {\"x\":0.6,\"y\":0.4}, {\"x\":0.5,\"y\":0.6} ]", "5 points")]
    [InlineData("\"template\": null", "5 points")]
    public void A_spec_with_a_bad_template_is_refused_naming_it(string template, string expected)
    {
        string json = """{ "name": "bad", "file": "x.onnx", "width": 112, "height": 112, "normalization": { "kind": "MeanScale", "mean": [127], "scale": [0.0078125] }, "crop": { "kind": "Template", TEMPLATE }, "outputSize": 512, "threshold": 0.4 }""".Replace("TEMPLATE", template);
        var e = Assert.Throws<ModelSpecException>(() => ModelCatalog.LoadEmbedderSpec(json));
        Assert.Contains(expected, e.Message);
    }

    [Fact]
    public void Specs_with_impossible_values_are_refused_naming_the_property()
    {
        var ok = ModelCatalog.Default;
        (EmbedderSpec Spec, string Named)[] bad =
        [
            (ok with { Backend = "" }, "backend"),
            (ok with { Normalization = new Normalization(NormalizationKind.MeanScale, [], [1]) }, "mean"),
            (ok with { Normalization = new Normalization(NormalizationKind.MeanScale, [0], [0]) }, "scale"),
            (ok with { Threshold = 2 }, "threshold"),
            (ok with { OutputSize = 0 }, "outputSize"),
            (ok with { Width = 0 }, "width"),
            (ok with { Sha256 = "abc" }, "sha256"),
        ];
        foreach (var (spec, named) in bad)
            Assert.Contains(named, Assert.Throws<ModelSpecException>(spec.Validate).Message);
        var nhwcDetector = ModelCatalog.DefaultDetector with { Layout = TensorLayout.Nhwc };
        Assert.Contains("NCHW", Assert.Throws<ModelSpecException>(nhwcDetector.Validate).Message);
    }

    [Fact]
    public void The_built_in_specs_carry_the_documented_sizes_and_templates()
    {
        Assert.Equal((112, 112, 512), (ModelCatalog.Default.Width, ModelCatalog.Default.Height, ModelCatalog.Default.OutputSize));
        Assert.Equal((128, 128, 256), (ModelCatalog.Reid0095.Width, ModelCatalog.Reid0095.Height, ModelCatalog.Reid0095.OutputSize));
        Assert.Equal(ChannelOrder.Bgr, ModelCatalog.Reid0095.Channels);
        Assert.Equal(NormalizationKind.MeanScale, ModelCatalog.Reid0095.Normalization.Kind);
        Assert.Equal([0f, 0, 0], ModelCatalog.Reid0095.Normalization.Mean);
        Assert.Equal((160, 160, 512), (ModelCatalog.FaceNet20180408.Width, ModelCatalog.FaceNet20180408.Height, ModelCatalog.FaceNet20180408.OutputSize));
        // Default template back in pixels: the 112x112 values of the model's documentation.
        var t = ModelCatalog.Default.Crop.Template!;
        Assert.Equal(38.2946f, t[0].X * 112, 3);
        Assert.Equal(92.2041f, t[4].Y * 112, 3);
        // 0095 card: left eye at (0.3156, 0.4616) of 128 pixels.
        Assert.Equal(40.393f, ModelCatalog.Reid0095.Crop.Template![0].X * 128, 2);
    }
}

/// <summary>An Open Model Zoo IR is accepted only as one release's whole set of files, each at its pinned SHA-384.</summary>
public sealed class IrSetVerificationTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("kiosk-irset-").FullName;
    private readonly byte[] _xml23 = "<net v='2023.0'/>"u8.ToArray(), _bin23 = [1, 2, 3, 4], _xml22 = "<net v='2022.3'/>"u8.ToArray(), _bin22 = [4, 3, 2, 1];

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static string Sha384(byte[] b) => Convert.ToHexStringLower(System.Security.Cryptography.SHA384.HashData(b));

    private OmzFile[] Files() =>
    [
        new("2023.0", "FP16", "FP16/m.xml", _xml23.Length, Sha384(_xml23), "https://example.invalid/2023.0/m.xml"),
        new("2023.0", "FP16", "FP16/m.bin", _bin23.Length, Sha384(_bin23), "https://example.invalid/2023.0/m.bin"),
        new("2022.3", "FP16", "FP16/m.xml", _xml22.Length, Sha384(_xml22), "https://example.invalid/2022.3/m.xml"),
        new("2022.3", "FP16", "FP16/m.bin", _bin22.Length, Sha384(_bin22), "https://example.invalid/2022.3/m.bin"),
    ];

    private void Write(byte[] xml, byte[] bin)
    {
        Directory.CreateDirectory(Path.Combine(_dir, "FP16"));
        File.WriteAllBytes(Path.Combine(_dir, "FP16", "m.xml"), xml);
        File.WriteAllBytes(Path.Combine(_dir, "FP16", "m.bin"), bin);
    }

    private void Verify() => ModelFiles.VerifyIrSet(ModelCatalog.Reid0095, _dir, Files(), "`kiosk models fetch m`");

    [Fact]
    public void Either_releases_whole_set_is_accepted()
    {
        Write(_xml23, _bin23);
        Verify();
        Write(_xml22, _bin22);
        Verify();
    }

    [Fact]
    public void An_xml_of_one_release_with_the_bin_of_another_is_refused_naming_both()
    {
        Write(_xml22, _bin23); // e.g. a fetch of the other release cut after its .xml
        var e = Assert.Throws<ModelFileException>(Verify);
        Assert.Contains("FP16/m.xml is of the 2022.3 set", e.Message);
        Assert.Contains("FP16/m.bin is of the 2023.0 set", e.Message);
        Assert.Contains("one --release", e.Message);
    }

    [Fact]
    public void A_damaged_or_missing_file_is_refused()
    {
        Write(_xml23, [9, 9, 9, 9]);
        Assert.Contains("FP16/m.bin matches no pinned version", Assert.Throws<ModelFileException>(Verify).Message);
        File.Delete(Path.Combine(_dir, "FP16", "m.bin"));
        Assert.Contains("not found (an IR needs its .xml and .bin)", Assert.Throws<ModelFileException>(Verify).Message);
    }
}
