using Kiosk.Vision.Interop.OnnxRuntime;

namespace Kiosk.Vision.Inference;

/// <summary>An <see cref="IInferenceModel"/> on ONNX Runtime (CPU), with pinned tensors bound once.</summary>
public sealed class OnnxRuntimeModel : IInferenceModel
{
    private readonly OrtSession _session;
    private readonly OrtTensor[] _inputs;
    private readonly OrtTensor[] _outputs;
    private readonly OrtSession.Binding _binding;

    public string Name { get; }
    public string Backend => "onnxruntime";
    public string Device => "CPU";
    public IReadOnlyList<TensorInfo> Inputs { get; }
    public IReadOnlyList<TensorInfo> Outputs { get; }

    public OnnxRuntimeModel(string name, string path, InferenceOptions options)
    {
        Name = name;
        options.Validate();
        var settings = new OrtSessionSettings
        {
            IntraOpThreads = options.Threads,
            InterOpThreads = 1,
            Optimization = GraphOptimizationLevel.All,
            ConfigEntries = new Dictionary<string, string>
            {
                ["session.intra_op.allow_spinning"] = options.AllowSpinning ? "1" : "0",
            },
        };
        _session = new OrtSession(path, settings);
        var created = new List<OrtTensor>();
        try
        {
            Inputs = _session.Inputs.Select(i => Resolve(name, i, "input")).ToArray();
            Outputs = _session.Outputs.Select(o => Resolve(name, o, "output")).ToArray();
            _inputs = Inputs.Select(i => Track(created, OrtTensor.Allocate(i.Shape))).ToArray();
            _outputs = Outputs.Select(o => Track(created, OrtTensor.Allocate(o.Shape))).ToArray();
            _binding = new OrtSession.Binding(_session, Inputs.Select(i => i.Name).ToArray(), _inputs,
                Outputs.Select(o => o.Name).ToArray(), _outputs);
        }
        catch
        {
            foreach (var t in created) t.Dispose();
            _session.Dispose();
            throw;
        }
    }

    private static OrtTensor Track(List<OrtTensor> list, OrtTensor t) { list.Add(t); return t; }

    private static TensorInfo Resolve(string model, TensorInfo info, string what)
    {
        if (info.ElementType != TensorElementType.Float)
            throw new ModelSpecMismatchException($"Model '{model}': {what} '{info.Name}' is {info.ElementType}; only float tensors are supported");
        var shape = (long[])info.Shape.Clone();
        for (int d = 0; d < shape.Length; d++)
        {
            if (shape[d] >= 0) continue;
            if (d == 0) { shape[d] = 1; continue; } // dynamic batch: we run one face at a time
            throw new ModelSpecMismatchException(
                $"Model '{model}': {what} '{info.Name}' has a dynamic dimension {d} ({info.SymbolicDimensions[d] ?? "?"}); give the model fixed spatial sizes");
        }
        return info with { Shape = shape };
    }

    public Span<float> Input(int index = 0) => _inputs[index].Span;
    public ReadOnlySpan<float> Output(int index = 0) => _outputs[index].Span;
    public InferenceStats Stats { get; } = new();

    public void Run()
    {
        long t0 = System.Diagnostics.Stopwatch.GetTimestamp();
        _binding.Run();
        Stats.Add(t0);
    }

    public void Dispose()
    {
        _binding.Dispose();
        foreach (var t in _inputs) t.Dispose();
        foreach (var t in _outputs) t.Dispose();
        _session.Dispose();
    }
}
