using System.Globalization;
using Kiosk.Host;
using Kiosk.Host.Cli;
using Kiosk.Tests.Events;
using Kiosk.Tests.Mqtt;
using Kiosk.Vision.Inference;
using Microsoft.Extensions.Configuration;

namespace Kiosk.Tests.Host;

/// <summary>
/// `kiosk doctor` on this machine: real ONNX Runtime, no OpenVINO (as CI), the real default models opened, a gallery
/// on disk, /dev and /sys replaced by folders the test lays out, a real broker where one is asked for.
/// </summary>
[Collection(MqttCollection.Name)]
public sealed class DoctorTests : IDisposable
{
    private readonly string _work = Directory.CreateTempSubdirectory("kiosk-doctor-").FullName;
    private string Dev => Path.Combine(_work, "dev");
    private string Sys => Path.Combine(_work, "sys");

    public DoctorTests()
    {
        Directory.CreateDirectory(Dev);
        Directory.CreateDirectory(Sys);
        File.WriteAllBytes(Path.Combine(_work, "clip.mp4"), [0]);
    }

    public void Dispose() => Directory.Delete(_work, recursive: true);

    private Dictionary<string, string?> Base() => new()
    {
        ["Gallery:DatabasePath"] = Path.Combine(_work, "gallery.db"),
        ["Gallery:KeyPath"] = Path.Combine(_work, "gallery.key"),
        ["Events:DatabasePath"] = Path.Combine(_work, "events.db"),
        ["Camera:Kind"] = "File",
        ["Camera:Device"] = Path.Combine(_work, "clip.mp4"),
        ["Door:Driver"] = "simulated",
        ["Door:LockLine"] = "17",
    };

    private async Task<IReadOnlyList<DoctorCheck>> Run(Dictionary<string, string?> values)
    {
        var config = new ConfigurationBuilder().AddInMemoryCollection(values).Build();
        var doctor = new Doctor(config, KioskSettings.Load(config)) { DevDir = Dev, SysDir = Sys, BrokerTimeout = TimeSpan.FromSeconds(3) };
        return await doctor.RunAsync();
    }

    private static DoctorCheck One(IReadOnlyList<DoctorCheck> checks, string name) =>
        Assert.Single(checks, c => c.Name == name);

    private static bool NoOpenVino() => !OpenVinoRuntime.Probe().Available;

    [SkippableFact]
    public async Task The_default_kiosk_can_run_here_and_openvino_is_reported_absent_without_failing()
    {
        Skip.IfNot(NoOpenVino(), "OpenVINO is installed here; this test is about a machine without it, as CI is");
        var checks = await Run(Base());
        Assert.DoesNotContain(checks, c => c.State == CheckState.Fail);
        Assert.Contains("1.30.0", One(checks, "ONNX Runtime").Detail);
        var ov = One(checks, "OpenVINO");
        Assert.Equal(CheckState.Info, ov.State); // nothing configured needs it
        Assert.Contains("not available", ov.Detail);
        Assert.Contains("libopenvino_c", ov.Detail);
        foreach (string model in new[] { "detector fr_detect", "landmarks fr_landmark", "fast embedder default" })
        {
            var m = One(checks, model);
            Assert.Equal(CheckState.Ok, m.State);
            Assert.StartsWith("runs on onnxruntime CPU", m.Detail);
        }
        Assert.Equal(CheckState.Warn, Assert.Single(checks, c => c.Area == "gallery").State); // nobody enrolled yet
        Assert.Contains("simulated", Assert.Single(checks, c => c.Area == "gpio").Detail);
        Assert.Contains("not configured", Assert.Single(checks, c => c.Area == "mqtt").Detail);
    }

    [SkippableFact]
    public async Task An_openvino_model_without_the_runtime_fails_its_check_with_the_loaders_reason()
    {
        Skip.IfNot(NoOpenVino(), "OpenVINO is installed here; this test is about a machine without it, as CI is");
        var values = Base();
        values["Models:Embedder"] = "reid-0095";
        var checks = await Run(values);
        var model = One(checks, "fast embedder reid-0095");
        Assert.Equal(CheckState.Fail, model.State);
        Assert.Contains("cannot run on any backend here", model.Detail);
        Assert.Contains("libopenvino_c", model.Detail);
        Assert.Equal(CheckState.Warn, One(checks, "OpenVINO").State); // now something needs it
        Assert.Equal(CheckState.Ok, One(checks, "detector fr_detect").State); // the others are still checked
    }

    [SkippableFact]
    public async Task Backend_auto_without_openvino_passes_on_onnx_runtime()
    {
        Skip.IfNot(NoOpenVino(), "OpenVINO is installed here; this test is about a machine without it, as CI is");
        var values = Base();
        values["Inference:Backend"] = "auto";
        var checks = await Run(values);
        Assert.DoesNotContain(checks, c => c.State == CheckState.Fail);
        Assert.StartsWith("runs on onnxruntime CPU", One(checks, "fast embedder default").Detail);
    }

    [Fact]
    public async Task A_missing_camera_and_gpio_chip_fail_and_an_unusable_ncs2_is_pointed_out()
    {
        var values = Base();
        values["Camera:Kind"] = "V4l2";
        values["Camera:Device"] = Path.Combine(Dev, "video0");
        values["Door:Driver"] = "gpio";
        values["Door:ChipPath"] = Path.Combine(Dev, "gpiochip0");
        // An NCS2 on the USB bus (Movidius vendor id), in its boot state.
        string stick = Path.Combine(Sys, "bus", "usb", "devices", "1-1.2");
        Directory.CreateDirectory(stick);
        File.WriteAllText(Path.Combine(stick, "idVendor"), "03e7\n");

        var checks = await Run(values);
        var camera = Assert.Single(checks, c => c.Area == "camera" && c.Name.StartsWith("configured", StringComparison.Ordinal));
        Assert.Equal(CheckState.Fail, camera.State);
        Assert.Contains("no /dev/video* device at all", camera.Detail);
        var gpio = Assert.Single(checks, c => c.Area == "gpio");
        Assert.Equal(CheckState.Fail, gpio.State);
        Assert.Contains("no GPIO chip at all", gpio.Detail);
        var ncs2 = One(checks, "Intel NCS2 (USB 03e7)"); // unusable with or without a runtime: none lists this fake stick
        Assert.Equal(CheckState.Warn, ncs2.State);
        Assert.Contains("1 plugged in, unusable: ", ncs2.Detail);
        if (NoOpenVino()) Assert.Contains("no OpenVINO runtime to drive it", ncs2.Detail);
    }

    [Fact]
    public async Task A_model_spec_that_does_not_fit_its_model_fails_as_the_service_would()
    {
        // The default embedder described with another input size: the file is fine, the spec does not fit it.
        string spec = Path.Combine(_work, "wrong.json");
        File.WriteAllText(spec, global::Kiosk.Vision.Models.ModelCatalog.ToJson(global::Kiosk.Vision.Models.ModelCatalog.Default with { Name = "wrong", Width = 96, Height = 96 }));
        var values = Base();
        values["Models:Embedder"] = spec;
        var model = One(await Run(values), "fast embedder wrong");
        Assert.Equal(CheckState.Fail, model.State);
        Assert.Contains("the spec describes 1x3x96x96", model.Detail);
    }

    [Fact]
    public async Task The_liveness_model_is_checked_when_the_gate_is_on()
    {
        var values = Base();
        values["Recognition:Liveness"] = "true";
        var liveness = One(await Run(values), "liveness fr_liveness");
        Assert.Equal(CheckState.Ok, liveness.State);
        Assert.StartsWith("runs on onnxruntime CPU", liveness.Detail);
    }

    [Fact]
    public async Task A_broker_that_is_down_is_a_warning_and_a_running_one_is_connected()
    {
        var values = Base();
        values["Mqtt:Host"] = "127.0.0.1";
        values["Mqtt:Port"] = MosquittoBroker.FreePort().ToString(CultureInfo.InvariantCulture);
        values["Mqtt:Site"] = "hq";
        values["Mqtt:Kiosk"] = "front-door";
        var down = Assert.Single(await Run(values), c => c.Area == "mqtt");
        Assert.Equal(CheckState.Warn, down.State);
        Assert.Contains("not reachable", down.Detail);
        Assert.Contains("events wait in the local log", down.Detail);

        using var broker = new MosquittoBroker();
        values["Mqtt:Host"] = MosquittoBroker.Host;
        values["Mqtt:Port"] = broker.Port.ToString(CultureInfo.InvariantCulture);
        values["Mqtt:Username"] = MosquittoBroker.Username;
        values["Mqtt:Password"] = "wrong";
        var refused = Assert.Single(await Run(values), c => c.Area == "mqtt");
        Assert.Equal(CheckState.Warn, refused.State);
        Assert.Contains("not authorised", refused.Detail, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("wrong", refused.Detail); // the password is never shown

        values["Mqtt:Password"] = MosquittoBroker.Password;
        var up = Assert.Single(await Run(values), c => c.Area == "mqtt");
        Assert.Equal(CheckState.Ok, up.State);
        Assert.Equal($"connected as {MosquittoBroker.Username}", up.Detail);
    }

    [SkippableFact]
    public async Task The_command_exits_1_when_the_configured_kiosk_cannot_run_and_0_when_it_can()
    {
        Skip.IfNot(NoOpenVino(), "OpenVINO is installed here; this test is about a machine without it, as CI is");
        var env = Base();
        var (ok, okOut) = await Kiosk(env, "doctor");
        Assert.True(ok == 0, okOut);
        Assert.Contains("The configured kiosk can run here.", okOut);
        env["Models:Embedder"] = "reid-0095";
        var (failed, failedOut) = await Kiosk(env, "doctor");
        Assert.True(failed == 1, failedOut);
        Assert.Contains("cannot run here: 1 check(s) failed", failedOut);
    }

    /// <summary>The kiosk program with settings as KIOSK__ environment variables, as systemd or a shell would give them.</summary>
    internal static Task<(int ExitCode, string Output)> Kiosk(Dictionary<string, string?> settings, params string[] args) =>
        KioskIn(null, settings, args);

    /// <summary>The same with KIOSK_STATE_DIR set (the service's state: gallery, key, event log, simulated chip).</summary>
    internal static Task<(int ExitCode, string Output)> KioskIn(string? stateDir, Dictionary<string, string?> settings, params string[] args)
    {
        var environment = settings.ToDictionary(kv => "KIOSK__" + kv.Key.Replace(":", "__", StringComparison.Ordinal), kv => kv.Value);
        if (stateDir is not null) environment["KIOSK_STATE_DIR"] = stateDir;
        return KioskWith(environment, args);
    }

    /// <summary>The kiosk program with these environment variables added to this process's, outside the journal.</summary>
    internal static async Task<(int ExitCode, string Output)> KioskWith(Dictionary<string, string?> environment, params string[] args)
    {
        environment["JOURNAL_STREAM"] = null; // plain console lines, whatever started the tests
        var (exit, stdout, stderr) = await KioskProcess.RunAsync(environment, TimeSpan.FromMinutes(2), args);
        return (exit, stdout + stderr);
    }
}
