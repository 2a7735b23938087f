namespace Kiosk.Vision.Inference;

/// <summary>
/// One loaded model on one backend, with its input and output buffers allocated and bound once. Fill
/// <see cref="Input"/>, call <see cref="Run"/>, read <see cref="Output"/>: no allocation per run.
/// </summary>
/// <remarks>Not thread-safe: the buffers belong to the instance. Use one instance per thread.</remarks>
public interface IInferenceModel : IDisposable
{
    /// <summary>Spec name the model was opened for.</summary>
    string Name { get; }
    /// <summary>"onnxruntime" or "openvino".</summary>
    string Backend { get; }
    /// <summary>Device the model runs on, e.g. "CPU".</summary>
    string Device { get; }
    /// <summary>Inputs with every dimension resolved (dynamic batch = 1).</summary>
    IReadOnlyList<TensorInfo> Inputs { get; }
    IReadOnlyList<TensorInfo> Outputs { get; }
    Span<float> Input(int index = 0);
    ReadOnlySpan<float> Output(int index = 0);
    void Run();
    /// <summary>Runs so far and the time spent inside the backend, for status and benchmarks.</summary>
    InferenceStats Stats { get; }
}

/// <summary>Counters of one model's runs. Written by the model's own thread; read anywhere (values may lag).</summary>
public sealed class InferenceStats
{
    private long _runs, _ticks;
    public long Runs => Volatile.Read(ref _runs);
    public TimeSpan RunTime => TimeSpan.FromSeconds(Volatile.Read(ref _ticks) / (double)System.Diagnostics.Stopwatch.Frequency);

    public void Add(long startTimestamp)
    {
        Volatile.Write(ref _ticks, _ticks + (System.Diagnostics.Stopwatch.GetTimestamp() - startTimestamp));
        Volatile.Write(ref _runs, _runs + 1);
    }
}

/// <summary>Backend-independent options for opening a model.</summary>
public sealed record InferenceOptions
{
    /// <summary>Threads one model may use for one inference (intra-op); 0 = backend default.</summary>
    public int Threads { get; init; } = 2;
    /// <summary>
    /// Let idle worker threads spin briefly after each run. Off by default: the face path runs several models one
    /// after another, and the spinning threads of one would take the cores from the next (measured: the whole
    /// path 2.2x slower with 2 threads on 2 cores). Worth it only for a single model on spare cores.
    /// </summary>
    public bool AllowSpinning { get; init; }

    public void Validate()
    {
        if (Threads < 0 || Threads > 64) throw new ArgumentOutOfRangeException(nameof(Threads), Threads, "Inference:Threads must be 0..64");
    }
}

/// <summary>A model that cannot be used as its spec describes (wrong shape, wrong type, missing tensor).</summary>
public sealed class ModelSpecMismatchException(string message) : Exception(message);

/// <summary>The backend a spec names is not available here.</summary>
public sealed class BackendUnavailableException(string message, Exception? inner = null) : Exception(message, inner);
