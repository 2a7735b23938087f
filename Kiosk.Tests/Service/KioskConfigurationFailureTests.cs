using Kiosk.Hardware.Simulated;
using Kiosk.Host.Cli;
using Kiosk.Tests.Faces;
using Kiosk.Tests.Host;
using Kiosk.Vision.Inference;

namespace Kiosk.Tests.Service;

/// <summary>
/// `kiosk run` configured for something this machine cannot give (an OpenVINO model, no OpenVINO): it must not become
/// a crash loop. It exits with EX_CONFIG (78), which systemd/kiosk.service does not restart, says what to change, and
/// leaves the door locked.
/// </summary>
[Collection(ModelCollection.Name)]
public sealed class KioskConfigurationFailureTests : IDisposable
{
    private readonly string _state = Directory.CreateTempSubdirectory("kiosk-config-failure-").FullName;

    public void Dispose() => Directory.Delete(_state, recursive: true);

    [SkippableFact]
    public async Task An_openvino_model_without_openvino_stops_the_service_with_ex_config_and_the_door_locked()
    {
        Skip.If(OpenVinoRuntime.Probe().Available, "OpenVINO is installed here; this test is about a machine without it, as CI is");
        string chip = Path.Combine(_state, "chip.json");
        string clip = Path.Combine(_state, "clip.mp4");
        Kiosk.Host.Demo.DemoClip.Build([new Kiosk.Host.Demo.ClipVisit(Path.Combine(TestPaths.PairsDev, "img2.jpg"), TimeSpan.FromSeconds(1))], clip,
            gap: TimeSpan.FromSeconds(0.5));
        var settings = new Dictionary<string, string?>
        {
            ["Models:Embedder"] = "reid-0095",
            ["Door:SimulatedStateFile"] = chip,
            ["Camera:Kind"] = "File",
        };
        var (exit, output) = await DoctorTests.KioskIn(_state, settings, "run", "--simulated-door", "--camera", clip);

        Assert.True(exit == KioskCli.ConfigurationExitCode, $"exit {exit}: {output}");
        Assert.Contains("cannot run as configured, and restarting will not help", output);
        Assert.Contains("Model 'reid-0095' cannot run on any backend here", output);
        Assert.Contains("libopenvino_c", output);
        Assert.DoesNotContain("   at ", output); // a message for the integrator, not a stack trace
        // The relay line was claimed locked first, and left locked and released.
        var relay = SimulatedChipStateFile.Read(chip).Single(l => l.Line == 17);
        Assert.False(relay.High, "the relay was left unlocked");
        Assert.Null(relay.Owner);

        // The unit keeps it from being restarted.
        string unit = await File.ReadAllTextAsync(Path.Combine(TestPaths.RepoRoot, "systemd", "kiosk.service"));
        Assert.Contains($"RestartPreventExitStatus={KioskCli.ConfigurationExitCode}", unit);
    }

    [Fact]
    public async Task A_settings_error_under_run_is_ex_config_too_but_other_commands_keep_exit_code_2()
    {
        var bad = new Dictionary<string, string?> { ["Inference:Backend"] = "tensorrt" };
        var (run, runOutput) = await DoctorTests.KioskIn(_state, bad, "run", "--simulated-door");
        Assert.True(run == KioskCli.ConfigurationExitCode, $"exit {run}: {runOutput}");
        Assert.Contains("Inference:Backend is 'tensorrt'", runOutput);
        var (list, listOutput) = await DoctorTests.KioskIn(_state, bad, "models", "list");
        Assert.True(list == 2, $"exit {list}: {listOutput}");
    }
}
