using System.Collections.Concurrent;
using System.Security.Cryptography;
using Kiosk.Vision.Inference;

namespace Kiosk.Vision.Models;

/// <summary>A model file that is missing or does not match its pinned SHA-256.</summary>
public sealed class ModelFileException(string message) : Exception(message);

/// <summary>Resolves model files and verifies their SHA-256 once per process.</summary>
public static class ModelFiles
{
    private static readonly ConcurrentDictionary<(string Path, long Length, DateTime Modified), bool> Verified = new();

    public static string PathOf(ModelFileSpec spec) =>
        Path.IsPathRooted(spec.File) ? spec.File : Path.Combine(KioskPaths.ModelsDir, spec.File);

    /// <summary>Full path of the spec's file, checked to exist and to match its hash.</summary>
    public static string Resolve(ModelFileSpec spec)
    {
        string path = PathOf(spec);
        var info = new FileInfo(path);
        if (!info.Exists)
            throw new ModelFileException($"Model '{spec.Name}': file {path} not found. Run scripts/setup.sh to fetch the default models" +
                                         (spec.Backend == "openvino" ? " (Open Model Zoo models: `kiosk models fetch`)." : "."));
        if (spec.Sha256 is null) return path;
        var key = (path, info.Length, info.LastWriteTimeUtc);
        if (Verified.ContainsKey(key)) return path;
        string actual = Sha256Of(path);
        if (!actual.Equals(spec.Sha256, StringComparison.OrdinalIgnoreCase))
            throw new ModelFileException($"Model '{spec.Name}': {path} has SHA-256 {actual}, expected {spec.Sha256}. " +
                                         "The file is corrupt or not the pinned model; delete it and run scripts/setup.sh.");
        Verified[key] = true;
        return path;
    }

    public static string Sha256Of(string path)
    {
        using var stream = File.OpenRead(path);
        return Convert.ToHexStringLower(SHA256.HashData(stream));
    }

    /// <summary>Opens the spec's model on its backend, after checking the file.</summary>
    public static IInferenceModel Open(ModelFileSpec spec, InferenceOptions options)
    {
        string path = Resolve(spec);
        return spec.Backend switch
        {
            "onnxruntime" => new OnnxRuntimeModel(spec.Name, path, options),
            "openvino" => throw new BackendUnavailableException(
                $"Model '{spec.Name}' asks for the OpenVINO backend, which this build does not have yet; use an ONNX export on onnxruntime."),
            _ => throw new BackendUnavailableException($"Model '{spec.Name}': unknown backend '{spec.Backend}' (onnxruntime, openvino)"),
        };
    }

    /// <summary>
    /// Validates the spec, opens its model, checks the image input against the spec and lets
    /// <paramref name="inspect"/> check the outputs and return what the caller needs of them. The model is disposed
    /// if any check fails.
    /// </summary>
    public static IInferenceModel OpenImageModel<T>(ModelFileSpec spec, InferenceOptions options,
        Func<IInferenceModel, T> inspect, out T inspected)
    {
        spec.Validate();
        var model = Open(spec, options);
        try
        {
            ExpectImageInput(spec, model, spec.Channels == ChannelOrder.Gray ? 1 : 3);
            inspected = inspect(model);
            return model;
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    /// <summary>Checks that the first input has the size the spec expects.</summary>
    public static void ExpectImageInput(ModelFileSpec spec, IInferenceModel model, int channels)
    {
        var input = model.Inputs[0];
        if (spec.InputName is not null && input.Name != spec.InputName)
            throw new ModelSpecMismatchException($"Model '{spec.Name}': first input is '{input.Name}', spec says '{spec.InputName}'");
        long[] expected = spec.Layout == TensorLayout.Nchw ? [1, channels, spec.Height, spec.Width] : [1, spec.Height, spec.Width, channels];
        if (!input.Shape.SequenceEqual(expected))
            throw new ModelSpecMismatchException(
                $"Model '{spec.Name}': input '{input.Name}' is {input.ShapeText}, but the spec describes {string.Join('x', expected)} " +
                $"({spec.Layout}, {spec.Width}x{spec.Height}, {channels} channel(s))");
    }

    public static int OutputIndex(ModelFileSpec spec, IInferenceModel model, string? name)
    {
        if (name is null) return 0;
        for (int i = 0; i < model.Outputs.Count; i++)
            if (model.Outputs[i].Name == name) return i;
        throw new ModelSpecMismatchException($"Model '{spec.Name}' has no output '{name}' (outputs: {string.Join(", ", model.Outputs.Select(o => o.Name))})");
    }
}
