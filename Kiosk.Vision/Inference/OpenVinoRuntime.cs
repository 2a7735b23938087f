using Kiosk.Vision.Interop.OpenVino;

namespace Kiosk.Vision.Inference;

/// <summary>A device OpenVINO lists, with its FULL_DEVICE_NAME (e.g. "Intel Movidius Myriad X VPU").</summary>
public sealed record OpenVinoDevice(string Name, string FullName);

/// <summary>What is here: loaded or not (and why not), version, where from, the devices.</summary>
public sealed record OpenVinoStatus(bool Available, string? Version, string? LoadedFrom, IReadOnlyList<OpenVinoDevice> Devices, string? Error);

/// <summary>The OpenVINO runtime of this process: one shared core, created on first use.</summary>
public static class OpenVinoRuntime
{
    /// <summary>Loads the library if it can and lists the devices. Never throws: a failure is reported in Error.</summary>
    public static OpenVinoStatus Probe()
    {
        string version, from;
        try
        {
            version = OvLibrary.Version;
            from = OvLibrary.LoadedFrom;
        }
        catch (OpenVinoNotFoundException e)
        {
            return new OpenVinoStatus(false, null, null, [], e.Message);
        }
        try
        {
            var devices = new List<OpenVinoDevice>();
            foreach (var name in OvCore.AvailableDevices())
            {
                string full;
                try { full = OvCore.GetProperty(name, "FULL_DEVICE_NAME"); }
                catch (OpenVinoException e) { full = $"(FULL_DEVICE_NAME unavailable: {e.Message})"; }
                devices.Add(new OpenVinoDevice(name, full));
            }
            return new OpenVinoStatus(true, version, from, devices, null);
        }
        catch (OpenVinoException e)
        {
            return new OpenVinoStatus(false, version, from, [], e.Message);
        }
    }

    /// <summary>True when a device of that name is listed: "MYRIAD" matches MYRIAD and MYRIAD.x..., "GPU" matches GPU.0.</summary>
    public static bool HasDevice(string device)
    {
        try
        {
            return IsListed(OvCore.AvailableDevices(), device);
        }
        catch (Exception e) when (e is OpenVinoNotFoundException or OpenVinoException)
        {
            return false;
        }
    }

    /// <summary>
    /// Throws <see cref="BackendUnavailableException"/> with the precise reason when <paramref name="device"/> cannot be
    /// used here: no library, MYRIAD on a release without its plugin, no NCS2 plugged in, a named device not listed.
    /// </summary>
    public static void EnsureDevice(string device)
    {
        string version;
        IReadOnlyList<string> devices;
        try
        {
            version = OvLibrary.Version;
        }
        catch (OpenVinoNotFoundException e)
        {
            throw new BackendUnavailableException(e.Message, e);
        }
        for (int attempt = 1; ; attempt++)
        {
            try
            {
                devices = OvCore.AvailableDevices();
            }
            catch (OpenVinoException e)
            {
                throw new BackendUnavailableException($"OpenVINO {ShortVersion(version)} cannot list its devices: {e.Message}", e);
            }
            if (DeviceProblem(version, devices, device) is not { } problem) return;
            // An NCS2 leaves the bus and comes back while it boots its firmware (and after a USB glitch): a release that
            // has MYRIAD looks again for a few seconds before saying there is none.
            if (attempt >= StickWaitAttempts || !WaitsForStick(version, devices, device)) throw new BackendUnavailableException(problem);
            Thread.Sleep(StickWaitInterval);
        }
    }

    private const int StickWaitAttempts = 7;
    private static readonly TimeSpan StickWaitInterval = TimeSpan.FromMilliseconds(500);

    /// <summary>True when <paramref name="device"/> names a MYRIAD that this release could drive but does not list.</summary>
    internal static bool WaitsForStick(string version, IReadOnlyList<string> available, string device)
    {
        try
        {
            if (!OvLibrary.HasMyriad(version)) return false;
        }
        catch (FormatException)
        {
            return false;
        }
        return Targets(device).Any(t => BaseName(t) == "MYRIAD" && !IsListed(available, t));
    }

    /// <summary>
    /// Why <paramref name="device"/> (CPU, GPU.1, MYRIAD, AUTO, HETERO:MYRIAD,CPU, MULTI:GPU,CPU, AUTO:-CPU ...)
    /// cannot be used with release <paramref name="version"/> that lists <paramref name="available"/>, or null.
    /// </summary>
    internal static string? DeviceProblem(string version, IReadOnlyList<string> available, string device)
    {
        if (string.IsNullOrWhiteSpace(device)) return "No OpenVINO device named: use CPU, GPU, NPU, MYRIAD, AUTO, HETERO:..., MULTI:...";
        string listed = available.Count == 0 ? "none" : string.Join(", ", available);
        string shortVersion = ShortVersion(version);
        bool? hasMyriad = null;
        try { hasMyriad = OvLibrary.HasMyriad(version); }
        catch (FormatException) { /* an unversioned custom build: judge by the device list alone */ }

        foreach (var target in Targets(device))
        {
            string baseName = BaseName(target);
            if (baseName == "MYRIAD")
            {
                if (hasMyriad == false)
                    return $"Device '{device}': OpenVINO {shortVersion} has no MYRIAD plugin: the NCS2 is supported only up to 2022.3 LTS. " +
                           "Install OpenVINO 2022.3 LTS for the stick (README, section OpenVINO) or choose another device " +
                           $"(available: {listed}).";
                if (!IsListed(available, target))
                    return $"Device '{device}': no Intel NCS2 (MYRIAD) found: available devices are {listed}; " +
                           "check the USB connection and the udev rules (README, section OpenVINO).";
                continue;
            }
            if (!IsListed(available, target))
                return $"Device '{device}': OpenVINO {shortVersion} has no device '{target}' here: available devices are {listed}.";
        }
        return null;
    }

    /// <summary>The physical devices a device string names: none for a bare AUTO/MULTI/HETERO/BATCH.</summary>
    private static IEnumerable<string> Targets(string device)
    {
        string d = device.Trim();
        int colon = d.IndexOf(':');
        string head = colon < 0 ? d : d[..colon];
        if (head is "AUTO" or "MULTI" or "HETERO" or "BATCH")
        {
            if (colon < 0) yield break;
            foreach (var part in d[(colon + 1)..].Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            {
                if (part.StartsWith('-')) continue; // AUTO:-CPU excludes a device
                int paren = part.IndexOf('(');     // BATCH:GPU(4)
                yield return paren < 0 ? part : part[..paren];
            }
            yield break;
        }
        yield return d;
    }

    private static string BaseName(string device)
    {
        int dot = device.IndexOf('.');
        return dot < 0 ? device : device[..dot];
    }

    private static bool IsListed(IReadOnlyList<string> available, string device)
    {
        foreach (var a in available)
        {
            if (a == device) return true;
            if (!device.Contains('.') && a.StartsWith(device + ".", StringComparison.Ordinal)) return true;
        }
        return false;
    }

    private static string ShortVersion(string version)
    {
        int dash = version.IndexOf('-');
        return dash < 0 ? version : version[..dash];
    }
}
