using System.Text.RegularExpressions;
using Kiosk.Vision;
using Kiosk.Vision.Inference;
using Kiosk.Vision.Interop.OnnxRuntime;
using Kiosk.Vision.Interop.OpenVino;
using Kiosk.Vision.Models;

namespace Kiosk.Tests.Inference;

/// <summary>OvLibrary's configuration and loaded library are process-wide: its tests run alone.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class OpenVinoLibraryCollection
{
    public const string Name = "OpenVINO library (process-wide configuration)";
}

/// <summary>A fact that needs a loadable OpenVINO runtime; skipped, with the loader's reason, where there is none.</summary>
public sealed class OpenVinoFactAttribute : FactAttribute
{
    public OpenVinoFactAttribute()
    {
        if (OpenVinoHere.Missing is { } reason) Skip = "No OpenVINO runtime on this machine: " + reason;
    }
}

internal static class OpenVinoHere
{
    private static readonly Lazy<string?> Reason = new(() =>
    {
        try { _ = OvLibrary.Version; return null; }
        catch (OpenVinoNotFoundException e) { return e.Message; }
    });

    public static string? Missing => Reason.Value;
}

/// <summary>What happens without a usable library: every failure names what was tried and why.</summary>
[Collection(OpenVinoLibraryCollection.Name)]
public sealed class OpenVinoLibraryNotFoundTests : IDisposable
{
    private readonly string? _savedEnv = Environment.GetEnvironmentVariable("KIOSK_OPENVINO_LIBRARY");
    private readonly string _dir = Directory.CreateTempSubdirectory("kiosk-ov-").FullName;

    public OpenVinoLibraryNotFoundTests() => OvLibrary.ResetForTests();

    public void Dispose()
    {
        Environment.SetEnvironmentVariable("KIOSK_OPENVINO_LIBRARY", _savedEnv);
        OvLibrary.ResetForTests();
        Directory.Delete(_dir, recursive: true);
    }

    private string Missing => Path.Combine(_dir, "no-such-dir", "libopenvino_c.so");

    [Fact]
    public void A_configured_path_that_does_not_exist_is_named_as_not_found()
    {
        OvLibrary.Configure(Missing);
        var e = Assert.Throws<OpenVinoNotFoundException>(() => OvLibrary.Version);
        Assert.Contains($"{Missing} (not found)", e.Message);
        Assert.False(OvLibrary.IsLoaded);
        Assert.Equal([Missing], OvLibrary.Candidates());
    }

    [Fact]
    public void The_message_says_how_to_install_and_how_to_point_at_the_library()
    {
        OvLibrary.Configure(Missing);
        var e = Assert.Throws<OpenVinoNotFoundException>(() => OvLibrary.Version);
        Assert.Contains("README", e.Message);
        Assert.Contains("2022.3 LTS", e.Message);
        Assert.Contains("KIOSK_OPENVINO_LIBRARY", e.Message);
    }

    [Fact]
    public void KIOSK_OPENVINO_LIBRARY_naming_a_missing_file_is_what_is_tried()
    {
        Environment.SetEnvironmentVariable("KIOSK_OPENVINO_LIBRARY", Missing);
        var e = Assert.Throws<OpenVinoNotFoundException>(() => OvLibrary.Version);
        Assert.Contains($"{Missing} (not found)", e.Message);
        Assert.DoesNotContain("/usr/lib", e.Message); // only the named file is tried
    }

    [Fact]
    public void A_file_that_is_not_a_library_is_refused_with_the_loaders_reason()
    {
        string fake = Path.Combine(_dir, "libopenvino_c.so");
        File.WriteAllText(fake, "this is not an ELF shared object");
        Environment.SetEnvironmentVariable("KIOSK_OPENVINO_LIBRARY", fake);
        var e = Assert.Throws<OpenVinoNotFoundException>(() => OvLibrary.Version);
        Assert.Contains($"{fake} (cannot be loaded: ", e.Message);
    }

    [Fact]
    public void A_real_shared_library_that_is_not_OpenVINO_is_refused_for_its_missing_export()
    {
        // The pinned ONNX Runtime the kiosk cache holds (scripts/setup.sh), as OrtLibrary finds it.
        string ort = Path.Combine(KioskPaths.CacheDir, "onnxruntime", OrtLibrary.PinnedVersion, KioskPaths.RuntimeId, "libonnxruntime.so.1");
        Assert.True(File.Exists(ort), $"{ort} is missing: run scripts/setup.sh");
        OvLibrary.Configure(ort);
        var e = Assert.Throws<OpenVinoNotFoundException>(() => OvLibrary.Version);
        Assert.Contains($"{ort} (no ov_get_openvino_version export: not the OpenVINO C API 2.0 library libopenvino_c)", e.Message);
    }

    [Fact]
    public void Probe_never_throws_and_reports_why_OpenVINO_is_unavailable()
    {
        OvLibrary.Configure(Missing);
        var status = OpenVinoRuntime.Probe();
        Assert.False(status.Available);
        Assert.Null(status.Version);
        Assert.Null(status.LoadedFrom);
        Assert.Empty(status.Devices);
        Assert.Contains($"{Missing} (not found)", status.Error);
        Assert.False(OpenVinoRuntime.HasDevice("CPU"));
    }

    [Fact]
    public void Opening_a_model_without_the_library_is_BackendUnavailable_with_the_loaders_message()
    {
        OvLibrary.Configure(Missing);
        var e = Assert.Throws<BackendUnavailableException>(() =>
            new OpenVinoModel("reid-0095", Path.Combine(_dir, "model.xml"), "CPU", new InferenceOptions()));
        Assert.Contains($"{Missing} (not found)", e.Message);
        Assert.IsType<OpenVinoNotFoundException>(e.InnerException);
        Assert.Throws<BackendUnavailableException>(() => OpenVinoRuntime.EnsureDevice("MYRIAD"));
    }

    [Fact]
    public void The_default_search_covers_the_install_locations_in_order()
    {
        Environment.SetEnvironmentVariable("KIOSK_OPENVINO_LIBRARY", null);
        string? savedIntel = Environment.GetEnvironmentVariable("INTEL_OPENVINO_DIR");
        string? savedLd = Environment.GetEnvironmentVariable("LD_LIBRARY_PATH");
        string intel = Path.Combine(_dir, "openvino_2022.3.0");
        string ldDir = Path.Combine(_dir, "ld");
        Directory.CreateDirectory(ldDir);
        foreach (var f in new[] { "libopenvino_c.so.2022.3.0", "libopenvino_c.so.2024.6.0", "libopenvino_c.so.2460", "libopenvino_c.so.notaversion" })
            File.WriteAllText(Path.Combine(ldDir, f), "");
        try
        {
            Environment.SetEnvironmentVariable("INTEL_OPENVINO_DIR", intel);
            Environment.SetEnvironmentVariable("LD_LIBRARY_PATH", ldDir);
            var c = OvLibrary.Candidates().ToList();
            string arch = KioskPaths.RuntimeId == "linux-arm64" ? "aarch64" : "intel64";
            string multiarch = KioskPaths.RuntimeId == "linux-arm64" ? "aarch64-linux-gnu" : "x86_64-linux-gnu";
            int beside = c.IndexOf(Path.Combine(Path.TrimEndingDirectorySeparator(AppContext.BaseDirectory), "libopenvino_c.so"));
            int intelIndex = c.IndexOf(Path.Combine(intel, "runtime", "lib", arch, "libopenvino_c.so"));
            int ld = c.IndexOf(Path.Combine(ldDir, "libopenvino_c.so"));
            int newest = c.IndexOf(Path.Combine(ldDir, "libopenvino_c.so.2024.6.0"));
            int soname = c.IndexOf(Path.Combine(ldDir, "libopenvino_c.so.2460"));
            int oldest = c.IndexOf(Path.Combine(ldDir, "libopenvino_c.so.2022.3.0"));
            int usrLib = c.IndexOf($"/usr/lib/{multiarch}/libopenvino_c.so");
            int usrLocal = c.IndexOf("/usr/local/lib/libopenvino_c.so");
            int plain = c.IndexOf("libopenvino_c.so");
            Assert.True(beside == 0, string.Join("\n", c));
            Assert.True(beside < intelIndex && intelIndex < ld && ld < newest && newest < oldest && soname < oldest
                        && oldest < usrLib && usrLib < usrLocal && usrLocal < plain, string.Join("\n", c));
            Assert.DoesNotContain(Path.Combine(ldDir, "libopenvino_c.so.notaversion"), c);
            Assert.Contains("libopenvino_c.so.2230", c); // 2022.3.0's soname, for the loader's own search
            Assert.Contains("libopenvino_c.so.2460", c);
            Assert.True(c.IndexOf("libopenvino_c.so.2460") < c.IndexOf("libopenvino_c.so.2230"), "versioned sonames newest first");
        }
        finally
        {
            Environment.SetEnvironmentVariable("INTEL_OPENVINO_DIR", savedIntel);
            Environment.SetEnvironmentVariable("LD_LIBRARY_PATH", savedLd);
        }
    }

    [Fact]
    public void Before_anything_is_loaded_the_path_may_be_set_and_cleared_again()
    {
        OvLibrary.Configure(Missing);
        OvLibrary.Configure(null); // nothing loaded yet: any change is allowed
        Assert.Null(OvLibrary.ConfiguredPath);
    }
}

/// <summary>Pure decisions: versions, element numbering, device checks, and the ABI check's expectations.</summary>
public sealed class OpenVinoDecisionTests
{
    // Build numbers as ov_get_openvino_version reports them (2022.3.2: build 9279 as in its wheel's name; that
    // release's hash part is illustrative, it is not parsed).
    [Theory]
    [InlineData("2022.1.0-7019-cdb9bec7210-releases/2022/1", 2022, 1, true)]
    [InlineData("2022.3.0-9052-9752fafe8eb-releases/2022/3", 2022, 3, true)]
    [InlineData("2022.3.2-9279-e2c7e4d7b4d-releases/2022/3", 2022, 3, true)]
    [InlineData("2023.0.0-10926-b4452d56304-releases/2023/0", 2023, 0, false)]
    [InlineData("2024.6.0-17404-4c0f47d2335-releases/2024/6", 2024, 6, false)]
    [InlineData("2025.2.0-19140-c01cd93e24d-releases/2025/2", 2025, 2, false)]
    public void ReleaseOf_and_HasMyriad_read_real_version_strings(string version, int year, int release, bool myriad)
    {
        Assert.Equal((year, release), OvLibrary.ReleaseOf(version));
        Assert.Equal(myriad, OvLibrary.HasMyriad(version));
    }

    [Theory]
    [InlineData("")]
    [InlineData("custom_master_abcdef")]
    [InlineData("22.3")]
    public void A_string_that_is_not_a_version_is_a_format_error(string version)
    {
        Assert.Throws<FormatException>(() => OvLibrary.ReleaseOf(version));
    }

    [Theory]
    [InlineData(2022, 3, 1, 5u, 4u)]
    [InlineData(2023, 3, 1, 5u, 4u)]
    [InlineData(2024, 1, 1, 5u, 4u)]
    [InlineData(2024, 2, 2, 5u, 4u)]
    [InlineData(2025, 0, 2, 5u, 4u)]
    [InlineData(2025, 1, 3, 4u, 3u)]
    [InlineData(2026, 1, 3, 4u, 3u)]
    public void The_element_numbering_follows_the_release(int year, int release, int numbering, uint f32, uint f16)
    {
        var n = OvElementTypes.ForRelease(year, release);
        Assert.Equal((OvElementNumbering)numbering, n);
        Assert.Equal(f32, OvElementTypes.F32(n));
        Assert.Equal(f16, OvElementTypes.F16(n));
        Assert.Equal("F32", OvElementTypes.Name(f32, n));
        Assert.Equal("F16", OvElementTypes.Name(f16, n));
        Assert.Equal(TensorElementType.Float, OvElementTypes.ToTensorElementType(f32, n));
    }

    [Fact]
    public void The_probe_tensor_tells_the_three_numberings_apart()
    {
        Assert.Equal(OvElementNumbering.Release2022_3, OvElementTypes.FromProbe(8));
        Assert.Equal(OvElementNumbering.Release2024_2, OvElementTypes.FromProbe(1));
        Assert.Equal(OvElementNumbering.Release2025_1, OvElementTypes.FromProbe(2));
        Assert.Null(OvElementTypes.FromProbe(4));
        Assert.Equal("U64", OvElementTypes.Name(OvElementTypes.ProbeValue, OvElementNumbering.Release2022_3));
        Assert.Equal("U8", OvElementTypes.Name(OvElementTypes.ProbeValue, OvElementNumbering.Release2024_2));
        Assert.Equal("U16", OvElementTypes.Name(OvElementTypes.ProbeValue, OvElementNumbering.Release2025_1));
    }

    private const string V2022_3 = "2022.3.0-9052-9752fafe8eb-releases/2022/3";
    private const string V2024_6 = "2024.6.0-17404-4c0f47d2335-releases/2024/6";

    [Theory]
    [InlineData("MYRIAD")]
    [InlineData("HETERO:MYRIAD,CPU")]
    [InlineData("MULTI:GPU,MYRIAD")]
    [InlineData("AUTO:MYRIAD,CPU")]
    public void MYRIAD_on_a_release_after_2022_3_says_the_NCS2_needs_2022_3(string device)
    {
        string? problem = OpenVinoRuntime.DeviceProblem(V2024_6, ["CPU", "GPU"], device);
        Assert.NotNull(problem);
        Assert.Contains("OpenVINO 2024.6.0 has no MYRIAD plugin: the NCS2 is supported only up to 2022.3 LTS", problem);
        Assert.Contains("available: CPU, GPU", problem);
    }

    [Fact]
    public void MYRIAD_on_2022_3_without_a_stick_says_to_check_USB_and_udev()
    {
        string? problem = OpenVinoRuntime.DeviceProblem(V2022_3, ["CPU", "GNA"], "HETERO:MYRIAD,CPU");
        Assert.Equal("Device 'HETERO:MYRIAD,CPU': no Intel NCS2 (MYRIAD) found: available devices are CPU, GNA; " +
                     "check the USB connection and the udev rules (README, section OpenVINO).", problem);
    }

    [Theory]
    [InlineData("MYRIAD")]
    [InlineData("HETERO:MYRIAD,CPU")]
    [InlineData("MYRIAD.1.2-ma2480")]
    public void MYRIAD_on_2022_3_with_a_stick_listed_is_usable(string device)
    {
        Assert.Null(OpenVinoRuntime.DeviceProblem(V2022_3, ["CPU", "MYRIAD.1.2-ma2480"], device));
    }

    [Theory]
    [InlineData("NPU", "NPU")]
    [InlineData("GPU.1", "GPU.1")]
    [InlineData("MULTI:CPU,NPU", "NPU")]
    [InlineData("HETERO:GPU.1,CPU", "GPU.1")]
    public void A_named_device_that_is_not_listed_is_refused_with_the_list(string device, string missing)
    {
        string? problem = OpenVinoRuntime.DeviceProblem(V2024_6, ["CPU", "GPU.0"], device);
        Assert.Equal($"Device '{device}': OpenVINO 2024.6.0 has no device '{missing}' here: available devices are CPU, GPU.0.", problem);
    }

    [Theory]
    [InlineData("CPU")]
    [InlineData("GPU")]
    [InlineData("GPU.0")]
    [InlineData("AUTO")]
    [InlineData("AUTO:-CPU,GPU")]
    [InlineData("BATCH:GPU(4)")]
    public void Listed_devices_and_bare_schedulers_are_usable(string device)
    {
        Assert.Null(OpenVinoRuntime.DeviceProblem(V2024_6, ["CPU", "GPU.0"], device));
    }

    [Fact]
    public void Structs_have_the_sizes_the_ABI_check_asserts()
    {
        var c = AbiCheckDefines();
        unsafe
        {
            Assert.Equal(c["OVK_SIZEOF_OV_SHAPE_T"], sizeof(ov_shape_t));
            Assert.Equal(c["OVK_SIZEOF_OV_DIMENSION_T"], sizeof(ov_dimension_t));
            Assert.Equal(c["OVK_SIZEOF_OV_PARTIAL_SHAPE_T"], sizeof(ov_partial_shape_t));
            Assert.Equal(c["OVK_SIZEOF_OV_VERSION_T"], sizeof(ov_version_t));
            Assert.Equal(c["OVK_SIZEOF_OV_AVAILABLE_DEVICES_T"], sizeof(ov_available_devices_t));
        }
        Assert.Equal(c["OVK_OFFSETOF_OV_SHAPE_T_DIMS"], (long)System.Runtime.InteropServices.Marshal.OffsetOf<ov_shape_t>("dims"));
        Assert.Equal(c["OVK_OFFSETOF_OV_DIMENSION_T_MAX"], (long)System.Runtime.InteropServices.Marshal.OffsetOf<ov_dimension_t>("max"));
        Assert.Equal(c["OVK_OFFSETOF_OV_PARTIAL_SHAPE_T_DIMS"], (long)System.Runtime.InteropServices.Marshal.OffsetOf<ov_partial_shape_t>("dims"));
        Assert.Equal(c["OVK_OFFSETOF_OV_VERSION_T_DESCRIPTION"], (long)System.Runtime.InteropServices.Marshal.OffsetOf<ov_version_t>("description"));
        Assert.Equal(c["OVK_OFFSETOF_OV_AVAILABLE_DEVICES_T_SIZE"], (long)System.Runtime.InteropServices.Marshal.OffsetOf<ov_available_devices_t>("size"));
    }

    [Fact]
    public void Status_and_element_values_are_the_ones_the_ABI_check_asserts()
    {
        var c = AbiCheckDefines();
        var statuses = c.Where(kv => kv.Key.StartsWith("OVK_STATUS_", StringComparison.Ordinal)).ToList();
        Assert.Equal(Enum.GetValues<OvStatus>().Length, statuses.Count);
        foreach (var s in Enum.GetValues<OvStatus>()) Assert.Contains((long)s, statuses.Select(kv => kv.Value));
        Assert.Equal((long)OvStatus.UnknownException, c["OVK_STATUS_UNKNOW_EXCEPTION"]);
        Assert.Equal((long)OvStatus.InvalidCParam, c["OVK_STATUS_INVALID_C_PARAM"]);
        foreach (var (suffix, n) in new[] { ("2022_3", OvElementNumbering.Release2022_3), ("2024_2", OvElementNumbering.Release2024_2), ("2025_1", OvElementNumbering.Release2025_1) })
        {
            Assert.Equal(c["OVK_F32_" + suffix], OvElementTypes.F32(n));
            Assert.Equal(c["OVK_F16_" + suffix], OvElementTypes.F16(n));
            Assert.Equal("U8", OvElementTypes.Name((uint)c["OVK_U8_" + suffix], n));
        }
        Assert.Equal(OvElementTypes.ProbeValue, c["OVK_PROBE_VALUE"]);
    }

    [Fact]
    public void The_ABI_check_binds_every_function_the_binding_resolves()
    {
        string source = File.ReadAllText(Path.Combine(TestPaths.RepoRoot, "scripts", "openvino-abi-check.c"));
        var bound = Regex.Matches(source, @"^OVK_BIND\((\w+),", RegexOptions.Multiline).Select(m => m.Groups[1].Value).ToHashSet();
        foreach (var name in OvNative.RequiredExports) Assert.Contains(name, bound);
        Assert.Contains("ov_get_last_err_msg", bound);
    }

    private static Dictionary<string, long> AbiCheckDefines()
    {
        string source = File.ReadAllText(Path.Combine(TestPaths.RepoRoot, "scripts", "openvino-abi-check.c"));
        return Regex.Matches(source, @"^#define (OVK_[A-Z0-9_]+) (-?\d+)\s*$", RegexOptions.Multiline)
            .ToDictionary(m => m.Groups[1].Value, m => long.Parse(m.Groups[2].Value, System.Globalization.CultureInfo.InvariantCulture));
    }
}

/// <summary>Against a real OpenVINO runtime; each test is skipped, with the loader's reason, where there is none.</summary>
[Collection(OpenVinoLibraryCollection.Name)]
public sealed class OpenVinoRuntimeTests
{
    private static string LandmarkModel => ModelFiles.Resolve(ModelCatalog.DefaultLandmarks);

    [OpenVinoFact]
    public void The_loaded_release_is_supported_and_its_numbering_matches_the_release()
    {
        var (year, release) = OvLibrary.ReleaseOf(OvLibrary.Version);
        Assert.True((year, release).CompareTo((2022, 3)) >= 0, OvLibrary.Version);
        Assert.Equal(OvElementTypes.ForRelease(year, release), OvLibrary.Numbering);
        Assert.Equal(OvLibrary.HasMyriad(OvLibrary.Version), (year, release) == (2022, 3));
    }

    [OpenVinoFact]
    public void Probe_lists_the_CPU_with_its_full_name()
    {
        var status = OpenVinoRuntime.Probe();
        Assert.True(status.Available, status.Error);
        Assert.Equal(OvLibrary.Version, status.Version);
        var cpu = Assert.Single(status.Devices, d => d.Name == "CPU");
        Assert.False(string.IsNullOrWhiteSpace(cpu.FullName));
        Assert.True(OpenVinoRuntime.HasDevice("CPU"));
        OpenVinoRuntime.EnsureDevice("CPU");
    }

    [OpenVinoFact]
    public void An_onnx_model_on_the_CPU_matches_ONNX_Runtime()
    {
        using var ov = new OpenVinoModel("fr_landmark", LandmarkModel, "CPU", new InferenceOptions { Threads = 1 });
        using var ort = new OnnxRuntimeModel("fr_landmark", LandmarkModel, new InferenceOptions { Threads = 1 });
        Assert.Equal("openvino", ov.Backend);
        Assert.Equal("CPU", ov.Device);
        Assert.Equal(ort.Inputs[0].Shape, ov.Inputs[0].Shape);
        Assert.Equal(TensorElementType.Float, ov.Inputs[0].ElementType);
        Assert.Equal(ort.Outputs[0].ElementCount, ov.Outputs[0].ElementCount);
        var rng = new Random(7);
        for (int i = 0; i < ov.Input().Length; i++) ov.Input()[i] = ort.Input()[i] = (float)rng.NextDouble();
        ov.Run();
        ort.Run();
        float worst = 0;
        for (int i = 0; i < ort.Output().Length; i++) worst = Math.Max(worst, Math.Abs(ov.Output()[i] - ort.Output()[i]));
        Assert.True(worst < 1e-3f, $"largest difference {worst}");
    }

    [OpenVinoFact]
    public void An_FP16_IR_with_a_dynamic_batch_runs_as_f32_with_batch_one()
    {
        string dir = Directory.CreateTempSubdirectory("kiosk-ov-ir-").FullName;
        try
        {
            string xml = Fp16ScaleIr.Write(dir);
            using var model = new OpenVinoModel("scale", xml, "CPU", new InferenceOptions { Threads = 1 });
            var input = Assert.Single(model.Inputs);
            Assert.Equal([1L, 4], input.Shape);
            Assert.Equal(TensorElementType.Float, input.ElementType);
            Assert.Equal("input", input.Name);
            Assert.Equal("output", Assert.Single(model.Outputs).Name);
            float[] x = [1f, 2f, 3f, -4f];
            x.CopyTo(model.Input());
            model.Run();
            Assert.Equal(x.Select((v, i) => v * Fp16ScaleIr.Scale[i]).ToArray(), model.Output().ToArray());
            Assert.Equal(1, model.Stats.Runs);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [OpenVinoFact]
    public void Models_opened_and_disposed_release_their_tensors_and_run_without_managed_allocation()
    {
        long baseline = OvTensorHandle.Live;
        for (int i = 0; i < 20; i++)
        {
            using var m = new OpenVinoModel("fr_landmark", LandmarkModel, "CPU", new InferenceOptions { Threads = 1 });
            m.Run();
        }
        Assert.Equal(baseline, OvTensorHandle.Live);

        using var model = new OpenVinoModel("fr_landmark", LandmarkModel, "CPU", new InferenceOptions { Threads = 1 });
        model.Input().Fill(0.5f);
        for (int i = 0; i < 50; i++) model.Run();
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 500; i++) model.Run();
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
        model.Dispose();
        model.Dispose(); // twice is harmless
        Assert.Throws<ObjectDisposedException>(() => model.Run());
    }

    [OpenVinoFact]
    public void A_file_that_is_not_a_model_is_an_OpenVinoException()
    {
        string path = Path.Combine(Path.GetTempPath(), $"kiosk-not-a-model-{Guid.NewGuid():N}.onnx");
        File.WriteAllText(path, "this is not a model");
        try
        {
            var e = Assert.Throws<OpenVinoException>(() => new OpenVinoModel("bad", path, "CPU", new InferenceOptions()));
            Assert.NotEqual(OvStatus.Ok, e.Status);
            Assert.Equal("ov_core_read_model", e.Operation);
        }
        finally
        {
            File.Delete(path);
        }
    }
}

/// <summary>A hand-written IR v11: f16 Parameter [?,4] times an f16 constant, as an FP16 Open Model Zoo IR is typed.</summary>
internal static class Fp16ScaleIr
{
    public static readonly float[] Scale = [1f, 2f, 0.5f, -1f];

    public static string Write(string dir)
    {
        string xml = Path.Combine(dir, "scale.xml");
        File.WriteAllText(xml, """
            <?xml version="1.0"?>
            <net name="kiosk_fp16_scale" version="11">
              <layers>
                <layer id="0" name="input" type="Parameter" version="opset1">
                  <data shape="?,4" element_type="f16"/>
                  <output>
                    <port id="0" precision="FP16" names="input"><dim>-1</dim><dim>4</dim></port>
                  </output>
                </layer>
                <layer id="1" name="scale" type="Const" version="opset1">
                  <data element_type="f16" shape="1,4" offset="0" size="8"/>
                  <output>
                    <port id="0" precision="FP16"><dim>1</dim><dim>4</dim></port>
                  </output>
                </layer>
                <layer id="2" name="scaled" type="Multiply" version="opset1">
                  <data auto_broadcast="numpy"/>
                  <input>
                    <port id="0" precision="FP16"><dim>-1</dim><dim>4</dim></port>
                    <port id="1" precision="FP16"><dim>1</dim><dim>4</dim></port>
                  </input>
                  <output>
                    <port id="2" precision="FP16" names="output"><dim>-1</dim><dim>4</dim></port>
                  </output>
                </layer>
                <layer id="3" name="output/sink_port_0" type="Result" version="opset1">
                  <input>
                    <port id="0" precision="FP16"><dim>-1</dim><dim>4</dim></port>
                  </input>
                </layer>
              </layers>
              <edges>
                <edge from-layer="0" from-port="0" to-layer="2" to-port="0"/>
                <edge from-layer="1" from-port="0" to-layer="2" to-port="1"/>
                <edge from-layer="2" from-port="2" to-layer="3" to-port="0"/>
              </edges>
            </net>
            """);
        var bin = new byte[Scale.Length * 2];
        for (int i = 0; i < Scale.Length; i++) BitConverter.TryWriteBytes(bin.AsSpan(i * 2), (Half)Scale[i]);
        File.WriteAllBytes(Path.ChangeExtension(xml, ".bin"), bin);
        return xml;
    }
}
