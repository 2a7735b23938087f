using System.CommandLine;
using Kiosk.Hardware.Gpio;
using Kiosk.Host.Gallery;
using Kiosk.Host.Mqtt;
using Kiosk.Host.Service;
using Kiosk.Vision;
using Kiosk.Vision.Capture;
using Kiosk.Vision.Inference;
using Kiosk.Vision.Interop.OnnxRuntime;
using Kiosk.Vision.Models;
using Microsoft.Extensions.Configuration;
using Spectre.Console;

namespace Kiosk.Host.Cli;

/// <summary>ok: works; warn: works, but worth a look (e.g. the broker is away: events wait); fail: the kiosk cannot run as configured.</summary>
public enum CheckState { Ok, Warn, Fail, Info }

public sealed record DoctorCheck(string Area, string Name, CheckState State, string Detail);

/// <summary>
/// What `kiosk doctor` looks at: the backends and their devices, the configured models (opened for real, where they
/// would run), the camera, the GPIO chip, the broker, the gallery. Every check is independent: one failing does not
/// hide the others. Nothing is changed, except that opening a model may load a native library.
/// </summary>
public sealed class Doctor(IConfiguration config, KioskSettings settings)
{
    public TimeSpan BrokerTimeout { get; init; } = TimeSpan.FromSeconds(5);
    /// <summary>The /dev and /sys roots (tests point them elsewhere).</summary>
    public string DevDir { get; init; } = "/dev";
    public string SysDir { get; init; } = "/sys";

    public async Task<IReadOnlyList<DoctorCheck>> RunAsync(CancellationToken ct = default)
    {
        var checks = new List<DoctorCheck>();
        ServiceSettings? service = null;
        try
        {
            service = ServiceSettingsLoader.Load(config, settings);
            checks.Add(new("settings", "settings", CheckState.Ok, "read and valid"));
        }
        catch (SettingsException e)
        {
            checks.Add(new("settings", "settings", CheckState.Fail, e.Message));
        }
        // Where this run looks: run as another user, or without the unit's environment, it sees other folders.
        checks.Add(new("settings", "folders", CheckState.Info, $"state {KioskSettings.StateDir}, models {KioskPaths.ModelsDir}"));
        if (RunningService() is { } pid)
            checks.Add(new("settings", "kiosk service", CheckState.Info,
                $"running (pid {pid}): a device it holds, such as the NCS2, may look unavailable to this check"));
        var specs = ConfiguredSpecs(service?.Recognition.Liveness ?? false);
        Guarded(checks, "backend", "backends", () => Backends(checks, specs));
        Guarded(checks, "model", "models", () => Models(checks, specs));
        if (service is not null)
        {
            Guarded(checks, "camera", "camera", () => Camera(service.Camera, checks));
            await GuardedAsync(checks, "gpio", "GPIO", () => GpioAsync(service, checks)).ConfigureAwait(false);
            await GuardedAsync(checks, "mqtt", "broker", () => BrokerAsync(service.Mqtt, checks, ct)).ConfigureAwait(false);
        }
        Guarded(checks, "gallery", "gallery", () => Gallery(checks));
        return checks;
    }

    // A check that breaks is one failed row, never the end of the report.
    private static void Guarded(List<DoctorCheck> checks, string area, string what, Action check)
    {
        try { check(); }
        catch (Exception e) when (e is not OperationCanceledException) { checks.Add(new(area, what, CheckState.Fail, $"the check itself failed: {e.GetType().Name}: {e.Message}")); }
    }

    private static async Task GuardedAsync(List<DoctorCheck> checks, string area, string what, Func<Task> check)
    {
        try { await check().ConfigureAwait(false); }
        catch (Exception e) when (e is not OperationCanceledException) { checks.Add(new(area, what, CheckState.Fail, $"the check itself failed: {e.GetType().Name}: {e.Message}")); }
    }

    /// <summary>The pid of another process running `kiosk run`, if any.</summary>
    private static int? RunningService()
    {
        try
        {
            foreach (string dir in Directory.EnumerateDirectories("/proc"))
            {
                if (!int.TryParse(Path.GetFileName(dir), out int pid) || pid == Environment.ProcessId) continue;
                string[] args;
                try { args = File.ReadAllText(Path.Combine(dir, "cmdline")).Split('\0', StringSplitOptions.RemoveEmptyEntries); }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException) { continue; }
                int run = Array.IndexOf(args, "run");
                if (run > 0 && Path.GetFileNameWithoutExtension(args[run - 1]) == "kiosk") return pid;
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
        return null;
    }

    private void Backends(List<DoctorCheck> checks, IReadOnlyList<ConfiguredModel> specs)
    {
        try
        {
            checks.Add(new("backend", "ONNX Runtime", CheckState.Ok, $"{OrtLibrary.Version} from {OrtLibrary.LoadedFrom}"));
        }
        catch (OnnxRuntimeNotFoundException e)
        {
            // A problem only for the models that would run on it: their own checks fail then.
            checks.Add(new("backend", "ONNX Runtime", CheckState.Warn, e.Message));
        }
        var ov = OpenVinoRuntime.Probe();
        bool wanted = specs.Any(m => m.Spec is { } s && (settings.Inference.Backend ?? s.Backend) == "openvino");
        if (ov.Available)
        {
            checks.Add(new("backend", "OpenVINO", CheckState.Ok, $"{ov.Version} from {ov.LoadedFrom}"));
            foreach (var d in ov.Devices) checks.Add(new("device", d.Name, CheckState.Ok, d.FullName));
        }
        else
        {
            // Only a problem when a configured model needs it; the models' own checks say whether they run anyway.
            checks.Add(new("backend", "OpenVINO", wanted ? CheckState.Warn : CheckState.Info, $"not available: {ov.Error}"));
        }
        int sticks = CountNcs2();
        if (sticks > 0 && !(ov.Available && ov.Devices.Any(d => d.Name.StartsWith("MYRIAD", StringComparison.Ordinal))))
        {
            string why = !ov.Available ? "no OpenVINO runtime to drive it (install 2022.3 LTS: README, 'OpenVINO')"
                : Kiosk.Vision.Interop.OpenVino.OvLibrary.HasMyriad(ov.Version!) ? "OpenVINO does not list it: check the udev rules and that the kiosk user is in group users (README)"
                : $"OpenVINO {ov.Version} has no MYRIAD plugin: the NCS2 needs 2022.3 LTS";
            checks.Add(new("device", "Intel NCS2 (USB 03e7)", CheckState.Warn, $"{sticks} plugged in, unusable: {why}"));
        }
    }

    /// <summary>USB devices of Movidius (vendor 03e7): the NCS2 in either of its boot states.</summary>
    private int CountNcs2()
    {
        string usb = Path.Combine(SysDir, "bus", "usb", "devices");
        if (!Directory.Exists(usb)) return 0;
        int n = 0;
        foreach (string dir in Directory.EnumerateDirectories(usb))
        {
            string vendor = Path.Combine(dir, "idVendor");
            try
            {
                if (File.Exists(vendor) && File.ReadAllText(vendor).Trim() == "03e7") n++;
            }
            catch (IOException) { }
            catch (UnauthorizedAccessException) { }
        }
        return n;
    }

    /// <summary>One configured model: its spec, or why its name or file does not make one.</summary>
    private sealed record ConfiguredModel(string Role, string Name, ModelFileSpec? Spec, string? Error);

    /// <summary>The models the service would open, each resolved once.</summary>
    private IReadOnlyList<ConfiguredModel> ConfiguredSpecs(bool liveness)
    {
        var list = new List<ConfiguredModel>
        {
            new("detector", settings.Detector, settings.DetectorSpec(), null),
            new("landmarks", settings.Landmarks, settings.LandmarkSpec(), null),
        };
        void Embedder(string role, string name)
        {
            try { list.Add(new(role, name, settings.EmbedderSpec(name), null)); }
            catch (Exception e) when (KioskCli.IsUserFacing(e)) { list.Add(new(role, name, null, e.Message)); }
        }
        Embedder("fast embedder", settings.Embedder);
        if (settings.AccurateEmbedder.Length > 0) Embedder("accurate embedder", settings.AccurateEmbedder);
        if (liveness) list.Add(new("liveness", Kiosk.Vision.Faces.LivenessSpec.Default.Name, Kiosk.Vision.Faces.LivenessSpec.Default, null));
        return list;
    }

    private void Models(List<DoctorCheck> checks, IReadOnlyList<ConfiguredModel> configured)
    {
        var report = new InferenceReport();
        var options = settings.Inference with { Report = report };
        foreach (var (role, name, configuredSpec, error) in configured)
        {
            if (configuredSpec is not { } spec)
            {
                checks.Add(new("model", name, CheckState.Fail, error!));
                continue;
            }
            // Opened as the service opens it: spec, file and hash, backend, device, input and output shapes; then closed.
            try
            {
                using IDisposable user = spec switch
                {
                    DetectorSpec d => new Kiosk.Vision.Faces.FaceDetector(d, options),
                    LandmarkSpec l => new Kiosk.Vision.Faces.LandmarkDetector(l, options),
                    EmbedderSpec e => new Kiosk.Vision.Faces.FaceEmbedder(e, options),
                    Kiosk.Vision.Faces.LivenessSpec v => new Kiosk.Vision.Faces.LivenessChecker(v, options),
                    _ => throw new ModelSpecException($"{spec.Name}: not a model the kiosk runs"),
                };
                var model = user switch
                {
                    Kiosk.Vision.Faces.FaceDetector d => d.Model,
                    Kiosk.Vision.Faces.LandmarkDetector l => l.Model,
                    Kiosk.Vision.Faces.FaceEmbedder e => e.Model,
                    _ => ((Kiosk.Vision.Faces.LivenessChecker)user).Model,
                };
                var placed = report.Placements.FirstOrDefault(p => p.Model == spec.Name);
                string where = $"{model.Backend} {model.Device}";
                checks.Add(placed is { FellBack: true }
                    ? new("model", $"{role} {spec.Name}", CheckState.Warn, $"runs on {where}, not on {placed.Requested}: {placed.FallbackReason}")
                    : new("model", $"{role} {spec.Name}", CheckState.Ok, $"runs on {where}; {ModelFiles.PathOf(spec)} verified"));
            }
            catch (Exception e) when (KioskCli.IsUserFacing(e))
            {
                checks.Add(new("model", $"{role} {spec.Name}", CheckState.Fail, e.Message));
            }
        }
    }

    private void Camera(FrameSourceOptions camera, List<DoctorCheck> checks)
    {
        string? ffmpeg = FindOnPath(camera.FfmpegPath);
        checks.Add(ffmpeg is null
            ? new("camera", "ffmpeg", CheckState.Fail, $"{camera.FfmpegPath} not found: install it (apt install ffmpeg)")
            : new("camera", "ffmpeg", CheckState.Ok, ffmpeg));
        var devices = Directory.Exists(DevDir) ? Directory.GetFiles(DevDir, "video*").Order(StringComparer.Ordinal).ToArray() : [];
        foreach (string dev in devices)
        {
            string nameFile = Path.Combine(SysDir, "class", "video4linux", Path.GetFileName(dev), "name");
            string label = File.Exists(nameFile) ? File.ReadAllText(nameFile).Trim() : "";
            checks.Add(new("camera", dev, CheckState.Info, label.Length > 0 ? label : "video device"));
        }
        switch (camera.Kind)
        {
            case FrameSourceKind.V4l2:
                checks.Add(!File.Exists(camera.Device)
                    ? new("camera", $"configured {camera.Device}", CheckState.Fail,
                        devices.Length == 0 ? "not present, and no /dev/video* device at all: plug the camera in or set Camera:Device"
                            : $"not present; video devices here: {string.Join(", ", devices)} (Camera:Device)")
                    : CanOpen(camera.Device) is { } error
                        ? new("camera", $"configured {camera.Device}", CheckState.Fail, $"cannot be opened: {error} (the service user needs group video)")
                        : new("camera", $"configured {camera.Device}", CheckState.Ok, "present and readable"));
                break;
            case FrameSourceKind.File:
                checks.Add(File.Exists(camera.Device)
                    ? new("camera", $"configured {camera.Device}", CheckState.Ok, "video file present")
                    : new("camera", $"configured {camera.Device}", CheckState.Fail, "video file not found (Camera:Device)"));
                break;
            default:
                checks.Add(new("camera", "configured network camera", CheckState.Info,
                    $"{FfmpegArguments.Redact(camera.Device)}: not contacted by doctor (the service retries it with backoff)"));
                break;
        }
    }

    private static string? CanOpen(string path)
    {
        try
        {
            using var f = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, 1, FileOptions.None);
            return null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return e.Message;
        }
    }

    private static string? FindOnPath(string program)
    {
        if (program.Contains('/')) return File.Exists(program) ? program : null;
        foreach (string dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries))
        {
            string candidate = Path.Combine(dir, program);
            if (File.Exists(candidate)) return candidate;
        }
        return null;
    }

    private async Task GpioAsync(ServiceSettings service, List<DoctorCheck> checks)
    {
        var chips = Directory.Exists(DevDir) ? Directory.GetFiles(DevDir, "gpiochip*").Order(StringComparer.Ordinal).ToArray() : [];
        var door = service.Door;
        if (door.IsSimulated)
        {
            checks.Add(new("gpio", "door", CheckState.Info, $"simulated (Door:Driver=simulated); GPIO chips here: {(chips.Length == 0 ? "none" : string.Join(", ", chips))}"));
            return;
        }
        if (!File.Exists(door.ChipPath))
        {
            checks.Add(new("gpio", $"configured {door.ChipPath}", CheckState.Fail,
                chips.Length == 0 ? "not present, and no GPIO chip at all (Door:ChipPath; or Door:Driver=simulated to try without a door)"
                    : $"not present; GPIO chips here: {string.Join(", ", chips)} (Door:ChipPath)"));
            return;
        }
        try
        {
            await using var driver = new CharacterDeviceGpioDriver(door.ChipPath);
            string lines = $"lock line {door.LockLine} of {driver.LineCount}";
            checks.Add(door.LockLine < driver.LineCount
                ? new("gpio", $"configured {door.ChipPath}", CheckState.Ok, $"{driver.ChipName} \"{driver.ChipLabel}\", {driver.LineCount} lines; {lines}")
                : new("gpio", $"configured {door.ChipPath}", CheckState.Fail, $"{driver.ChipName} has {driver.LineCount} lines: Door:LockLine {door.LockLine} is not one of them"));
        }
        catch (GpioException e)
        {
            checks.Add(new("gpio", $"configured {door.ChipPath}", CheckState.Fail, $"{e.Message} (the service user needs group gpio)"));
        }
    }

    private async Task BrokerAsync(MqttLinkSettings? mqtt, List<DoctorCheck> checks, CancellationToken ct)
    {
        if (mqtt is null)
        {
            checks.Add(new("mqtt", "broker", CheckState.Info, "not configured (Mqtt:Host empty): events stay in the local log"));
            return;
        }
        string where = $"broker {mqtt.Broker.Host}:{mqtt.Broker.Port}";
        var options = mqtt.Broker.ForProbe($"{mqtt.Broker.ClientId}-doctor-{Environment.ProcessId}", BrokerTimeout);
        // On a thread of its own with a hard limit: libmosquitto resolves the host name synchronously, and a dead
        // resolver must not hang the report.
        var attempt = Task.Run(() => ConnectOnceAsync(options, where, ct), ct);
        try
        {
            checks.Add(await attempt.WaitAsync(BrokerTimeout + TimeSpan.FromSeconds(2), ct).ConfigureAwait(false));
        }
        catch (TimeoutException)
        {
            checks.Add(new("mqtt", where, CheckState.Warn,
                $"no answer in {BrokerTimeout.TotalSeconds:0} s (name lookup or connection blocked). The door works; events wait in the local log"));
        }
    }

    private async Task<DoctorCheck> ConnectOnceAsync(MqttOptions options, string where, CancellationToken ct)
    {
        MqttClient client;
        try
        {
            client = new MqttClient(options);
        }
        catch (MqttException e)
        {
            return new("mqtt", "libmosquitto", CheckState.Warn, $"{e.Message}: the door works, events wait in the local log");
        }
        await using (client.ConfigureAwait(false))
        {
            client.Start();
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
            timeout.CancelAfter(BrokerTimeout);
            try
            {
                await client.WaitConnectedAsync(timeout.Token).ConfigureAwait(false);
                return new("mqtt", where, CheckState.Ok, $"connected{(options.Username is { } u ? $" as {u}" : "")}{(options.CaFile is not null ? " over TLS" : "")}");
            }
            catch (OperationCanceledException) when (!ct.IsCancellationRequested)
            {
                string why = client.LastFailure?.Reason ?? $"no answer in {BrokerTimeout.TotalSeconds:0} s";
                return new("mqtt", where, CheckState.Warn, $"not reachable: {why}. The door works; events wait in the local log until it is");
            }
        }
    }

    private void Gallery(List<DoctorCheck> checks)
    {
        var g = settings.Gallery;
        string? folder = Path.GetDirectoryName(Path.GetFullPath(g.DatabasePath));
        try
        {
            if (folder is not null && Directory.Exists(folder)) _ = Directory.EnumerateFileSystemEntries(folder).Any();
        }
        catch (UnauthorizedAccessException)
        {
            checks.Add(new("gallery", g.DatabasePath, CheckState.Fail,
                $"{folder} cannot be read by this user: run doctor as the service's user (sudo -u kiosk KIOSK_STATE_DIR=... kiosk doctor)"));
            return;
        }
        if (!File.Exists(g.DatabasePath))
        {
            checks.Add(new("gallery", g.DatabasePath, CheckState.Warn, "no gallery yet: nobody is enrolled (kiosk enroll, or an MQTT enroll command)"));
            return;
        }
        try
        {
            using var store = GalleryStore.Open(g);
            var people = store.ListPeople();
            string detail = $"{people.Count} people, revision {store.Revision}";
            try
            {
                var fast = settings.EmbedderSpec(settings.Embedder);
                var missing = store.PeopleWithoutTemplatesFor(fast.Name, GalleryService.ModelKey(fast), withoutCrops: false);
                detail += missing.Count == 0 ? $"; every person has {fast.Name} templates"
                    : $"; {missing.Count} without {fast.Name} templates (made from stored crops at start, or new photos needed)";
                checks.Add(new("gallery", g.DatabasePath, people.Count == 0 ? CheckState.Warn : CheckState.Ok, detail));
            }
            catch (Exception e) when (KioskCli.IsUserFacing(e))
            {
                checks.Add(new("gallery", g.DatabasePath, CheckState.Ok, $"{detail}; templates not checked ({e.Message})"));
            }
        }
        catch (Exception e) when (KioskCli.IsUserFacing(e))
        {
            checks.Add(new("gallery", g.DatabasePath, CheckState.Fail, e.Message));
        }
    }
}

internal static class DoctorCommand
{
    public static Command Create(KioskSettings settings)
    {
        var cmd = new Command("doctor", "Check this machine for the configured kiosk: backends, devices, models, camera, GPIO, broker, gallery; exit 1 if it cannot run");
        cmd.SetAction(async (_, ct) =>
        {
            var checks = await new Doctor(KioskSettings.BuildConfiguration(), settings).RunAsync(ct).ConfigureAwait(false);
            var table = new Table().AddColumns("area", "what", "state", "detail");
            foreach (var c in checks)
            {
                string state = c.State switch
                {
                    CheckState.Ok => "[green]ok[/]",
                    CheckState.Warn => "[yellow]warn[/]",
                    CheckState.Fail => "[red]FAIL[/]",
                    _ => "[grey]info[/]",
                };
                table.AddRow(Markup.Escape(c.Area), Markup.Escape(c.Name), state, Markup.Escape(c.Detail));
            }
            AnsiConsole.Write(table);
            int failed = checks.Count(c => c.State == CheckState.Fail);
            AnsiConsole.MarkupLine(failed == 0
                ? "[green]The configured kiosk can run here.[/]"
                : $"[red]The configured kiosk cannot run here: {failed} check(s) failed.[/]");
            return failed == 0 ? 0 : 1;
        });
        return cmd;
    }
}
