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
}

/// <summary>Backend-independent options for opening a model.</summary>
public sealed record InferenceOptions
{
    /// <summary>Threads one model may use for one inference (intra-op); 0 = backend default.</summary>
    public int Threads { get; init; } = 2;
    /// <summary>Let idle worker threads spin briefly for lower latency (costs CPU between frames).</summary>
    public bool AllowSpinning { get; init; } = true;

    public void Validate()
    {
        if (Threads < 0 || Threads > 64) throw new ArgumentOutOfRangeException(nameof(Threads), Threads, "Kiosk:Inference:Threads must be 0..64");
    }
}

/// <summary>A model that cannot be used as its spec describes (wrong shape, wrong type, missing tensor).</summary>
public sealed class ModelSpecMismatchException(string message) : Exception(message);

/// <summary>The backend a spec names is not available here.</summary>
public sealed class BackendUnavailableException(string message, Exception? inner = null) : Exception(message, inner);
