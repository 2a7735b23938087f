using Kiosk.Tests.Events;
using Kiosk.Vision.Inference;
using Kiosk.Vision.Models;
using Microsoft.Extensions.Logging;

namespace Kiosk.Tests.Inference;

/// <summary>
/// Where a spec runs: the candidate order (MYRIAD, OpenVINO CPU, ONNX Runtime) for every combination of backend,
/// device, fallback and files, decided from a given OpenVINO state so that each path is covered without the runtime.
/// </summary>
public sealed class BackendSelectionTests
{
    private static readonly OpenVinoStatus Absent = new(false, null, null, [], "libopenvino_c.so not found (tried: /opt/intel/...)");
    private static readonly OpenVinoStatus CpuOnly = new(true, "2025.4.0-20398-8fdad55727d-releases/2025/4", "/usr/lib/x86_64-linux-gnu/libopenvino_c.so.2540",
        [new OpenVinoDevice("CPU", "Intel(R) Core(TM) i5-1135G7")], null);
    private static readonly OpenVinoStatus WithStick = new(true, "2022.3.2-9279-e2c7e4d7b4d-releases/2022/3", "/opt/intel/openvino_2022/runtime/lib/aarch64/libopenvino_c.so",
        [new OpenVinoDevice("CPU", "ARM CPU"), new OpenVinoDevice("MYRIAD", "Intel Movidius Myriad X VPU")], null);

    private static string[] Plan(ModelFileSpec spec, OpenVinoStatus ov, InferenceOptions? options = null) =>
        BackendSelection.Plan(spec, options ?? new InferenceOptions(), ov, []).Select(c => c.ToString()).ToArray();

    /// <summary>The default embedder as if it were asked to run on OpenVINO: an ONNX file both backends read.</summary>
    private static EmbedderSpec OnnxOnOpenVino(string device = "auto") => ModelCatalog.Default with { Backend = "openvino", Device = device };

    [Fact]
    public void Auto_prefers_the_stick_then_openvino_cpu_then_onnx_runtime()
    {
        var spec = ModelCatalog.Default with { Backend = "auto", Device = "auto" };
        Assert.Equal(["openvino MYRIAD", "openvino CPU", "onnxruntime CPU"], Plan(spec, WithStick));
        Assert.Equal(["openvino CPU", "onnxruntime CPU"], Plan(spec, CpuOnly)); // no stick listed: not even tried
        Assert.Equal(["onnxruntime CPU"], Plan(spec, Absent));
    }

    [Fact]
    public void Auto_without_openvino_says_why_it_went_to_onnx_runtime()
    {
        var notes = new List<string>();
        var plan = BackendSelection.Plan(ModelCatalog.Default with { Backend = "auto" }, new InferenceOptions(), Absent, notes);
        Assert.Equal("onnxruntime", Assert.Single(plan).Backend);
        Assert.Contains("OpenVINO is not available (libopenvino_c.so not found", Assert.Single(notes));
    }

    [Fact]
    public void An_ir_only_model_has_no_onnx_runtime_candidate_and_says_so()
    {
        var notes = new List<string>();
        var plan = BackendSelection.Plan(ModelCatalog.Reid0095, new InferenceOptions(), Absent, notes);
        // Named backend: tried even though the runtime is absent, so its own precise error is the one reported.
        Assert.Equal(["openvino CPU"], plan.Select(c => c.ToString()));
        Assert.Contains(notes, n => n.Contains("OpenVINO IR", StringComparison.Ordinal) && n.Contains("no ONNX export", StringComparison.Ordinal));
        Assert.Empty(BackendSelection.Plan(ModelCatalog.Reid0095 with { Backend = "auto" }, new InferenceOptions(), Absent, []));
    }

    [Fact]
    public void An_explicit_device_falls_back_to_openvino_cpu_then_onnx_runtime_only_when_fallback_is_on()
    {
        Assert.Equal(["openvino MYRIAD", "openvino CPU", "onnxruntime CPU"], Plan(OnnxOnOpenVino("MYRIAD"), CpuOnly));
        Assert.Equal(["openvino MYRIAD"], Plan(OnnxOnOpenVino("MYRIAD"), CpuOnly, new InferenceOptions { Fallback = false }));
        Assert.Equal(["openvino HETERO:MYRIAD,CPU", "openvino CPU", "onnxruntime CPU"], Plan(OnnxOnOpenVino("HETERO:MYRIAD,CPU"), WithStick));
        Assert.Equal(["openvino MYRIAD", "openvino CPU"], Plan(ModelCatalog.Reid0095 with { Device = "MYRIAD" }, WithStick));
    }

    [Fact]
    public void The_settings_override_every_spec_and_the_default_set_stays_on_onnx_runtime()
    {
        var forced = new InferenceOptions { Backend = "openvino", Device = "MYRIAD", Fallback = false };
        Assert.Equal(["openvino MYRIAD"], Plan(ModelCatalog.Default, WithStick, forced));
        Assert.Equal(["onnxruntime CPU"], Plan(ModelCatalog.Default, WithStick)); // the default set is pinned to ONNX Runtime
        using var model = ModelFiles.Open(ModelCatalog.DefaultLandmarks, new InferenceOptions { Threads = 1 });
        Assert.Equal("onnxruntime", model.Backend);
        Assert.IsType<OnnxRuntimeModel>(model); // one candidate: no fallback wrapper around it
    }

    [Fact]
    public void The_onnx_export_of_an_ir_spec_is_what_onnx_runtime_gets()
    {
        var spec = ModelCatalog.Reid0095 with { OnnxFile = "omz/face-reidentification-retail-0095/reid.onnx" };
        var plan = BackendSelection.Plan(spec, new InferenceOptions(), CpuOnly, []);
        Assert.Equal(["openvino CPU", "onnxruntime CPU"], plan.Select(c => c.ToString()));
        Assert.Equal("omz/face-reidentification-retail-0095/FP32/face-reidentification-retail-0095.xml", plan[0].File);
        Assert.Equal("omz/face-reidentification-retail-0095/reid.onnx", plan[1].File);
        Assert.Equal("omz/face-reidentification-retail-0095/FP16/face-reidentification-retail-0095.xml",
            BackendSelection.Plan(spec with { Precision = "FP16" }, new InferenceOptions(), CpuOnly, [])[0].File);
    }

    [Fact]
    public void Only_a_myriad_the_release_could_drive_is_waited_for()
    {
        const string lts = "2022.3.2-9279-e2c7e4d7b4d-releases/2022/3", current = "2025.4.0-20398-8fdad55727d-releases/2025/4";
        Assert.True(OpenVinoRuntime.WaitsForStick(lts, ["CPU"], "MYRIAD"));
        Assert.True(OpenVinoRuntime.WaitsForStick(lts, ["CPU"], "HETERO:MYRIAD,CPU"));
        Assert.False(OpenVinoRuntime.WaitsForStick(lts, ["CPU", "MYRIAD"], "MYRIAD")); // there
        Assert.False(OpenVinoRuntime.WaitsForStick(current, ["CPU"], "MYRIAD"));        // no plugin: no point waiting
        Assert.False(OpenVinoRuntime.WaitsForStick(lts, ["CPU"], "GPU"));
    }

    [Theory]
    [InlineData("CPU", true)]
    [InlineData("MYRIAD", true)]
    [InlineData("GPU.1", true)]
    [InlineData("HETERO:MYRIAD,CPU", true)]
    [InlineData("AUTO:GPU,CPU", true)]
    [InlineData("auto", true)]
    [InlineData("cpu", false)]
    [InlineData("", false)]
    [InlineData("HETERO:", false)]
    [InlineData("CPU;rm -rf", false)]
    public void Device_names_are_checked(string device, bool valid)
    {
        Assert.Equal(valid, ModelFileSpec.IsDeviceName(device));
        var spec = ModelCatalog.Reid0095 with { Device = device };
        if (valid) spec.Validate();
        else Assert.Contains("device", Assert.Throws<ModelSpecException>(spec.Validate).Message);
    }

    [Fact]
    public void An_onnx_runtime_spec_cannot_name_another_device_or_an_ir()
    {
        Assert.Contains("ONNX Runtime runs on the CPU", Assert.Throws<ModelSpecException>((ModelCatalog.Default with { Device = "MYRIAD" }).Validate).Message);
        Assert.Contains("needs an ONNX file", Assert.Throws<ModelSpecException>((ModelCatalog.Reid0095 with { Backend = "onnxruntime", Device = "CPU" }).Validate).Message);
        Assert.Contains("precision", Assert.Throws<ModelSpecException>((ModelCatalog.Reid0095 with { Precision = "FP8" }).Validate).Message);
    }
}

/// <summary>Opening on the real backends of this machine (ONNX Runtime; OpenVINO only when installed) and moving at run time.</summary>
[Collection(OpenVinoLibraryCollection.Name)]
public sealed class BackendFallbackTests
{
    private static void RequireNoOpenVino()
    {
        Skip.If(OpenVinoRuntime.Probe().Available, "OpenVINO is installed here: these tests are about a machine without it (as CI is)");
    }

    /// <summary>The landmark model (small, fast) asked to run on OpenVINO: an ONNX file both backends read.</summary>
    private static LandmarkSpec OnOpenVino(string device = "CPU") => ModelCatalog.DefaultLandmarks with { Backend = "openvino", Device = device };

    private static float[] RunOnce(IInferenceModel model, int seed)
    {
        var rng = new Random(seed);
        var input = model.Input();
        for (int i = 0; i < input.Length; i++) input[i] = (float)rng.NextDouble();
        model.Run();
        return model.Output().ToArray();
    }

    [SkippableFact]
    public void Without_openvino_an_openvino_model_fails_with_the_loaders_precise_reason_not_a_missing_file()
    {
        RequireNoOpenVino();
        var e = Assert.Throws<BackendUnavailableException>(() => ModelFiles.Open(ModelCatalog.Reid0095, new InferenceOptions()));
        Assert.Contains("Model 'reid-0095' cannot run on any backend here", e.Message);
        Assert.Contains("openvino CPU: ", e.Message);
        Assert.Contains("libopenvino_c", e.Message); // the loader's own account of what it tried
        Assert.Contains("no ONNX export", e.Message);
        Assert.DoesNotContain("models fetch", e.Message); // the runtime is the problem to fix first
    }

    [SkippableFact]
    public void Without_openvino_an_explicit_openvino_backend_falls_back_to_onnx_runtime_once_logged_and_reported()
    {
        RequireNoOpenVino();
        var log = new RecordingLogger();
        var report = new InferenceReport();
        using var model = ModelFiles.Open(OnOpenVino(), new InferenceOptions { Threads = 1, Logger = log, Report = report });
        Assert.Equal(("onnxruntime", "CPU"), (model.Backend, model.Device));
        var placed = Assert.Single(report.Placements);
        Assert.True(placed.FellBack);
        Assert.Equal("openvino CPU", placed.Requested);
        Assert.Contains("libopenvino_c", placed.FallbackReason);
        var warning = Assert.Single(log.Entries, e => e.Level == LogLevel.Warning);
        Assert.Equal(1103, warning.Id.Id);
        Assert.Contains("running it on onnxruntime CPU instead", warning.Message);
        Assert.Contains("(fallback from openvino CPU)", report.Summary());

        // The same output as the model opened on ONNX Runtime directly.
        using var direct = ModelFiles.Open(ModelCatalog.DefaultLandmarks, new InferenceOptions { Threads = 1 });
        Assert.Equal(RunOnce(direct, 5), RunOnce(model, 5));
    }

    [SkippableFact]
    public void With_fallback_off_an_unavailable_backend_is_the_models_error()
    {
        RequireNoOpenVino();
        var e = Assert.Throws<BackendUnavailableException>(() => ModelFiles.Open(OnOpenVino("MYRIAD"), new InferenceOptions { Fallback = false }));
        Assert.Contains("openvino MYRIAD: ", e.Message);
        Assert.DoesNotContain("onnxruntime", e.Message);
    }

    [SkippableFact]
    public void Auto_without_openvino_runs_on_onnx_runtime_and_says_why_at_information_level()
    {
        RequireNoOpenVino();
        var log = new RecordingLogger();
        var report = new InferenceReport();
        using var model = ModelFiles.Open(ModelCatalog.DefaultLandmarks with { Backend = "auto", Device = "auto" },
            new InferenceOptions { Threads = 1, Logger = log, Report = report });
        Assert.Equal("onnxruntime", model.Backend);
        Assert.False(Assert.Single(report.Placements).FellBack); // auto found what it was told to look for
        var info = Assert.Single(log.Entries);
        Assert.Equal((LogLevel.Information, 1102), (info.Level, info.Id.Id));
        Assert.Contains("OpenVINO is not available", info.Message);
    }

    [Fact]
    public void A_device_lost_while_running_moves_the_model_to_the_next_backend_with_the_input_already_written()
    {
        var spec = OnOpenVino("MYRIAD");
        var log = new RecordingLogger();
        var report = new InferenceReport();
        var options = new InferenceOptions { Threads = 1, Logger = log, Report = report };
        using var reference = ModelFiles.Open(ModelCatalog.DefaultLandmarks, new InferenceOptions { Threads = 1 });
        // The stick stands in as a real ONNX Runtime model that, like an unplugged NCS2, fails on its fourth run.
        var stick = new DeviceThatFails(ModelFiles.Open(ModelCatalog.DefaultLandmarks, new InferenceOptions { Threads = 1 }), failOnRun: 4);
        var rest = new[] { new BackendCandidate("onnxruntime", "CPU", ModelCatalog.DefaultLandmarks.File) };
        using var model = new FallbackModel(spec, stick, rest, options);

        for (int seed = 0; seed < 3; seed++) Assert.Equal(RunOnce(reference, seed), RunOnce(model, seed));
        Assert.Equal("openvino MYRIAD", $"{model.Backend} {model.Device}");
        Assert.Equal(RunOnce(reference, 3), RunOnce(model, 3)); // the failing run itself still gives its answer
        Assert.Equal("onnxruntime CPU", $"{model.Backend} {model.Device}");
        Assert.True(stick.Disposed);
        for (int seed = 4; seed < 50; seed++) Assert.Equal(RunOnce(reference, seed), RunOnce(model, seed));
        Assert.Equal(50, model.Stats.Runs); // the counters span both backends
        Assert.True(model.Stats.RunTime > TimeSpan.Zero);

        var error = Assert.Single(log.Entries); // once, however many runs follow
        Assert.Equal((LogLevel.Error, 1104), (error.Level, error.Id.Id));
        Assert.Contains("openvino MYRIAD failed while running (device lost: MYRIAD unplugged)", error.Message);
        var placed = Assert.Single(report.Placements);
        Assert.Equal(("onnxruntime", "CPU", "openvino MYRIAD"), (placed.Backend, placed.Device, placed.Requested));
    }

    [Fact]
    public void When_no_backend_can_take_over_the_run_fails_naming_each_one()
    {
        var spec = OnOpenVino("MYRIAD");
        var stick = new DeviceThatFails(ModelFiles.Open(ModelCatalog.DefaultLandmarks, new InferenceOptions { Threads = 1 }), failOnRun: 1);
        var rest = new[] { new BackendCandidate("openvino", "CPU", spec.File) };
        using var model = new FallbackModel(spec, stick, rest, new InferenceOptions { Threads = 1 })
        {
            Opener = (_, c, _) => throw new BackendUnavailableException($"{c} refused"),
        };
        // A run-time failure, not a configuration one: the service exits 1 and systemd restarts it (re-planned).
        var e = Assert.Throws<InferenceFailedException>(model.Run);
        Assert.False(Kiosk.Host.Cli.KioskCli.IsConfigurationFailure(e));
        Assert.Contains("openvino MYRIAD: device lost", e.Message);
        Assert.Contains("openvino CPU refused", e.Message);
        Assert.False(stick.Disposed); // still the model's, released by its Dispose
    }

    /// <summary>A real model whose device goes away on run N: every later run throws, as a pulled-out NCS2 does.</summary>
    private sealed class DeviceThatFails(IInferenceModel inner, int failOnRun) : IInferenceModel
    {
        private int _runs;
        public bool Disposed { get; private set; }
        public string Name => inner.Name;
        public string Backend => "openvino";
        public string Device => "MYRIAD";
        public IReadOnlyList<TensorInfo> Inputs => inner.Inputs;
        public IReadOnlyList<TensorInfo> Outputs => inner.Outputs;
        public InferenceStats Stats => inner.Stats;
        public Span<float> Input(int index = 0) => inner.Input(index);
        public ReadOnlySpan<float> Output(int index = 0) => inner.Output(index);

        public void Run()
        {
            if (++_runs >= failOnRun) throw new BackendUnavailableException("device lost: MYRIAD unplugged");
            inner.Run();
        }

        public void Dispose()
        {
            Disposed = true;
            inner.Dispose();
        }
    }
}
