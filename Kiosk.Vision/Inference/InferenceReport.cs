using System.Collections.Concurrent;

namespace Kiosk.Vision.Inference;

/// <summary>
/// Where one model runs: backend and device, and, when it is not where it was asked to run, what was asked for and
/// why that failed.
/// </summary>
public sealed record ModelPlacement(string Model, string Backend, string Device, string? Requested, string? FallbackReason, DateTimeOffset Since)
{
    public bool FellBack => FallbackReason is not null;
}

/// <summary>The placements of a process's models, for `systemctl status`, the MQTT status and `doctor`. Thread-safe.</summary>
public sealed class InferenceReport
{
    private readonly ConcurrentDictionary<string, ModelPlacement> _placements = new(StringComparer.Ordinal);

    /// <summary>Raised after a placement is added or changes (a fallback at run time); on the thread that caused it.</summary>
    public event Action<ModelPlacement>? Changed;

    public IReadOnlyList<ModelPlacement> Placements => _placements.Values.OrderBy(p => p.Model, StringComparer.Ordinal).ToArray();

    public bool AnyFallback => _placements.Values.Any(p => p.FellBack);

    internal void Set(ModelPlacement placement)
    {
        _placements[placement.Model] = placement;
        Changed?.Invoke(placement);
    }

    /// <summary>One line for a status text: "default onnxruntime CPU; reid-0095 openvino CPU (fallback from MYRIAD)".</summary>
    public string Summary() => string.Join("; ", Placements.Select(p =>
        p.FellBack ? $"{p.Model} {p.Backend} {p.Device} (fallback from {p.Requested})" : $"{p.Model} {p.Backend} {p.Device}"));
}
