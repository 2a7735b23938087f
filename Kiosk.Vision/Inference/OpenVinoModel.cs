using Kiosk.Vision.Interop.OpenVino;

namespace Kiosk.Vision.Inference;

/// <summary>
/// An <see cref="IInferenceModel"/> on OpenVINO: an IR (.xml with its .bin beside it) or an .onnx file, batch
/// reshaped to 1, every input and output f32 whatever the IR's precision, compiled for one device (CPU, GPU, NPU,
/// MYRIAD, AUTO, HETERO:MYRIAD,CPU ...), with input buffers bound once.
/// </summary>
public sealed class OpenVinoModel : IInferenceModel
{
    private readonly OvInferSession _session;

    public string Name { get; }
    public string Backend => "openvino";
    public string Device { get; }
    public IReadOnlyList<TensorInfo> Inputs => _session.Inputs;
    public IReadOnlyList<TensorInfo> Outputs => _session.Outputs;
    public InferenceStats Stats { get; } = new();

    public OpenVinoModel(string name, string path, string device, InferenceOptions options)
    {
        Name = name;
        Device = device;
        options.Validate();
        OpenVinoRuntime.EnsureDevice(device);
        if (!File.Exists(path))
            throw new FileNotFoundException($"Model '{name}': {path} not found", path);
        if (path.EndsWith(".xml", StringComparison.OrdinalIgnoreCase) && !File.Exists(Path.ChangeExtension(path, ".bin")))
            throw new FileNotFoundException($"Model '{name}': the IR's weights {Path.ChangeExtension(path, ".bin")} are missing beside {path}",
                Path.ChangeExtension(path, ".bin"));
        _session = new OvInferSession(name, path, device, options.Threads);
    }

    public Span<float> Input(int index = 0) => _session.Input(index);
    public ReadOnlySpan<float> Output(int index = 0) => _session.Output(index);

    /// <summary>Runs one inference; a failure is an <see cref="OpenVinoException"/> carrying OpenVINO's message.</summary>
    public void Run()
    {
        long t0 = System.Diagnostics.Stopwatch.GetTimestamp();
        _session.Run();
        Stats.Add(t0);
    }

    public void Dispose() => _session.Dispose();
}
