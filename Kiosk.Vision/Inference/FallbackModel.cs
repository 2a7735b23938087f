using Kiosk.Vision.Models;

namespace Kiosk.Vision.Inference;

/// <summary>
/// A model with somewhere to go: it runs on its first backend, and when that fails while running (the NCS2 pulled out,
/// a GPU driver reset) it opens the same spec on the next candidate, hands it the input already written and runs
/// there, logged once and reported. It never goes back by itself: a restart tries the first choice again.
/// </summary>
/// <remarks>Not thread-safe, like every <see cref="IInferenceModel"/>. A span from <see cref="Input"/> is valid until the next <see cref="Run"/>.</remarks>
internal sealed class FallbackModel : IInferenceModel
{
    private readonly ModelFileSpec _spec;
    private readonly InferenceOptions _options;
    private readonly BackendCandidate[] _rest;
    private int _next;
    private IInferenceModel _current;

    public FallbackModel(ModelFileSpec spec, IInferenceModel first, IReadOnlyList<BackendCandidate> rest, InferenceOptions options)
    {
        _spec = spec;
        _current = first;
        _rest = rest.ToArray();
        _options = options;
        Inputs = first.Inputs;
        Outputs = first.Outputs;
    }

    /// <summary>Opens a candidate; tests replace it to stand in for a device that fails.</summary>
    internal Func<ModelFileSpec, BackendCandidate, InferenceOptions, IInferenceModel> Opener { get; init; } = BackendSelection.OpenOn;

    public string Name => _current.Name;
    public string Backend => _current.Backend;
    public string Device => _current.Device;
    public IReadOnlyList<TensorInfo> Inputs { get; }
    public IReadOnlyList<TensorInfo> Outputs { get; }
    /// <summary>Every run of this model, on whichever backend: a failover does not reset the counters.</summary>
    public InferenceStats Stats { get; } = new();
    /// <summary>The model currently running (for tests and status).</summary>
    internal IInferenceModel Current => _current;

    public Span<float> Input(int index = 0) => _current.Input(index);
    public ReadOnlySpan<float> Output(int index = 0) => _current.Output(index);

    public void Run()
    {
        long t0 = System.Diagnostics.Stopwatch.GetTimestamp();
        try
        {
            _current.Run();
        }
        catch (Exception e) when (BackendSelection.IsBackendFailure(e) && _next < _rest.Length)
        {
            FailOver(e);
            _current.Run();
        }
        Stats.Add(t0);
    }

    private void FailOver(Exception failure)
    {
        var failed = _current;
        string failedName = $"{failed.Backend} {failed.Device}";
        var reasons = new List<string> { $"{failedName}: {failure.Message}" };
        while (_next < _rest.Length)
        {
            var candidate = _rest[_next++];
            IInferenceModel next;
            try
            {
                next = Opener(_spec, candidate, _options);
            }
            catch (Exception e) when (BackendSelection.IsBackendFailure(e))
            {
                reasons.Add($"{candidate}: {e.Message}");
                continue;
            }
            try
            {
                if (!SameTensors(next.Inputs, Inputs) || !SameTensors(next.Outputs, Outputs))
                    throw new ModelSpecMismatchException(
                        $"Model '{_spec.Name}' on {candidate} has other tensors ({string.Join(", ", next.Inputs)} -> {string.Join(", ", next.Outputs)}) " +
                        $"than on {failedName} ({string.Join(", ", Inputs)} -> {string.Join(", ", Outputs)})");
                for (int i = 0; i < Inputs.Count; i++) failed.Input(i).CopyTo(next.Input(i));
            }
            catch
            {
                next.Dispose();
                throw;
            }
            _current = next;
            if (_options.Logger is { } log) Log.ModelFailedOver(log, _spec.Name, failedName, failure.Message, next.Backend, next.Device);
            _options.Report?.Set(new ModelPlacement(_spec.Name, next.Backend, next.Device, failedName, failure.Message, DateTimeOffset.UtcNow));
            // Last, and guarded: releasing a model on a dead device may fail, and must not undo the switch.
            try { failed.Dispose(); }
            catch (Exception e) when (BackendSelection.IsBackendFailure(e)) { }
            return;
        }
        throw new InferenceFailedException($"Model '{_spec.Name}' failed on {failedName} and no other backend could take it: {string.Join("; ", reasons)}", failure);
    }

    private static bool SameTensors(IReadOnlyList<TensorInfo> a, IReadOnlyList<TensorInfo> b)
    {
        if (a.Count != b.Count) return false;
        for (int i = 0; i < a.Count; i++)
            if (!a[i].Shape.AsSpan().SequenceEqual(b[i].Shape)) return false; // names may differ between IR and ONNX
        return true;
    }

    public void Dispose() => _current.Dispose();
}
