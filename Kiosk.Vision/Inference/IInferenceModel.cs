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
    /// <summary>Backend for every model (auto, onnxruntime, openvino); null keeps each spec's own.</summary>
    public string? Backend { get; init; }
    /// <summary>OpenVINO device for every model that runs on OpenVINO (auto, CPU, MYRIAD, ...); null keeps each spec's own.</summary>
    public string? Device { get; init; }
    /// <summary>
    /// When the backend or device a model asks for cannot be had (at start, or the NCS2 pulled out while running), run
    /// the same model on the next one of MYRIAD, OpenVINO CPU, ONNX Runtime that can read its files: logged once,
    /// shown in the kiosk's status. Off: the failure is the model's error. "auto" always walks that list.
    /// </summary>
    public bool Fallback { get; init; } = true;
    /// <summary>Where backend choices and fallbacks are logged; null logs nowhere.</summary>
    public Microsoft.Extensions.Logging.ILogger? Logger { get; init; }
    /// <summary>Collects where each model runs, for the kiosk's status; null collects nothing.</summary>
    public InferenceReport? Report { get; init; }

    public void Validate()
    {
        if (Threads < 0 || Threads > 64) throw new ArgumentOutOfRangeException(nameof(Threads), Threads, "Inference:Threads must be 0..64");
        if (Backend is not null && !Models.ModelFileSpec.Backends.Contains(Backend))
            throw new ArgumentOutOfRangeException(nameof(Backend), Backend, $"Inference:Backend must be one of {string.Join(", ", Models.ModelFileSpec.Backends)}");
        if (Device is not null && !Models.ModelFileSpec.IsDeviceName(Device))
            throw new ArgumentOutOfRangeException(nameof(Device), Device, "Inference:Device must be auto or an OpenVINO device name (CPU, MYRIAD, GPU, NPU, AUTO, HETERO:MYRIAD,CPU ...)");
    }
}

/// <summary>A model that cannot be used as its spec describes (wrong shape, wrong type, missing tensor).</summary>
public sealed class ModelSpecMismatchException(string message) : Exception(message);

/// <summary>
/// A model's backend failed while running and none of the others it could move to took it over: a run-time failure
/// (worth a restart, which plans the backends afresh), not a configuration one.
/// </summary>
public sealed class InferenceFailedException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>The backend a spec names is not available here.</summary>
public sealed class BackendUnavailableException(string message, Exception? inner = null) : Exception(message, inner);
