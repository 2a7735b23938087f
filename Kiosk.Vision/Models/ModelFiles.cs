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

    public static string PathOf(ModelFileSpec spec) => PathOf(spec.ResolvedFile);

    public static string PathOf(string file) => Path.IsPathRooted(file) ? file : Path.Combine(KioskPaths.ModelsDir, file);

    /// <summary>Full path of the spec's file, checked to exist and to match its hash.</summary>
    public static string Resolve(ModelFileSpec spec) => Resolve(spec, spec.ResolvedFile);

    /// <summary>
    /// Full path of <paramref name="file"/> (the spec's file or its ONNX export), checked to exist and to match its
    /// pinned SHA-256; an Open Model Zoo IR is checked whole, .xml and .bin, against the hashes of its model.yml.
    /// </summary>
    public static string Resolve(ModelFileSpec spec, string file)
    {
        string path = PathOf(file);
        bool isOnnxExport = file == spec.OnnxFile && file != spec.ResolvedFile;
        if (!System.IO.File.Exists(path))
            throw new ModelFileException($"Model '{spec.Name}': file {path} not found. " + (spec.Omz is { } omz
                ? $"Fetch it with `kiosk models fetch {omz}{(spec.Precision is { } p && p != "FP32" ? $" --precision {p}" : "")}`."
                : spec.Backend == "openvino" ? "Put the model there (see `kiosk models list`)." : "Run scripts/setup.sh to fetch the default models."));
        if (isOnnxExport)
        {
            if (spec.OnnxSha256 is { } onnxSha) Verify(spec, path, onnxSha);
            return path;
        }
        if (spec.Sha256 is { } sha)
        {
            Verify(spec, path, sha);
            return path;
        }
        if (spec.Omz is { } name && OmzDownloads.Find(name) is { } model)
        {
            string precision = spec.Precision ?? "FP32";
            var files = model.Files.Where(f => f.Precision == precision).ToArray();
            if (files.Length == 0) return path; // a model whose IR is made by the user (FaceNet): nothing pinned
            string dir = Path.GetDirectoryName(Path.GetDirectoryName(path)!)!; // <cache>/models/omz/<name>
            VerifyIrSet(spec, dir, files, $"`kiosk models fetch {name} --precision {precision}`");
        }
        return path;
    }

    /// <summary>Checks that the file's digest is <paramref name="hash"/> (SHA-256 or SHA-384 hex), once per file version.</summary>
    private static void Verify(ModelFileSpec spec, string path, string hash)
    {
        var info = new FileInfo(path);
        var key = (path, info.Length, info.LastWriteTimeUtc);
        if (Verified.ContainsKey(key)) return;
        string actual = FileHash.Of(path, hash);
        if (!actual.Equals(hash, StringComparison.OrdinalIgnoreCase))
            throw new ModelFileException($"Model '{spec.Name}': {path} has {FileHash.AlgorithmOf(hash)} {actual}, expected {hash}. " +
                                         "The file is corrupt or not the pinned model; delete it and run scripts/setup.sh.");
        Verified[key] = true;
    }

    private static readonly ConcurrentDictionary<string, bool> VerifiedSets = new(StringComparer.Ordinal);

    /// <summary>
    /// Checks that the IR's files are all of one release's set (the 2023.0 IRs, or the 2022.3 ones for the NCS2): an
    /// .xml of one with the .bin of another would load, and run with the wrong weights. Once per version of the files.
    /// </summary>
    internal static void VerifyIrSet(ModelFileSpec spec, string dir, IReadOnlyList<OmzFile> files, string refetch)
    {
        var names = files.Select(f => f.Name).Distinct(StringComparer.Ordinal).ToArray();
        var infos = new Dictionary<string, FileInfo>(StringComparer.Ordinal);
        foreach (string n in names)
        {
            var info = new FileInfo(Path.Combine(dir, n));
            if (!info.Exists)
                throw new ModelFileException($"Model '{spec.Name}': {info.FullName} not found (an IR needs its .xml and .bin). Fetch it with {refetch}.");
            infos[n] = info;
        }
        string key = string.Join('|', infos.Values.Select(i => $"{i.FullName}:{i.Length}:{i.LastWriteTimeUtc.Ticks}"));
        if (VerifiedSets.ContainsKey(key)) return;
        var digests = infos.ToDictionary(kv => kv.Key, kv => FileHash.Sha384Of(kv.Value.FullName), StringComparer.Ordinal);
        var releases = files.Select(f => f.Release).Distinct(StringComparer.Ordinal).ToArray();
        foreach (string release in releases)
        {
            var set = files.Where(f => f.Release == release).ToArray();
            if (set.Length == names.Length && IsWholeSet(set, n => digests[n]))
            {
                VerifiedSets[key] = true;
                return;
            }
        }
        // Say which file belongs to which release, if any: a mixed set is told apart from a damaged one.
        string Owner(string n) => files.FirstOrDefault(f => f.Name == n && digests[n].Equals(f.Sha384, StringComparison.OrdinalIgnoreCase)) is { } f
            ? $"{n} is of the {f.Release} set" : $"{n} matches no pinned version (SHA-384 {digests[n]})";
        throw new ModelFileException($"Model '{spec.Name}': the IR's files are not one pinned set: {string.Join("; ", names.Select(Owner))}. " +
                                     $"Delete {dir} and fetch it again with {refetch} (one --release).");
    }

    /// <summary>True when every file of <paramref name="set"/> is there with its pinned SHA-384 (null digest: missing).</summary>
    internal static bool IsWholeSet(IEnumerable<OmzFile> set, Func<string, string?> sha384Of) =>
        set.All(f => sha384Of(f.Name) is { } d && d.Equals(f.Sha384, StringComparison.OrdinalIgnoreCase));

    /// <summary>
    /// What identifies the spec's weights for the gallery: its pinned SHA-256, else the SHA-256 of its file, and for an
    /// IR of its .xml and .bin together (the .xml alone would not change with other weights).
    /// </summary>
    public static string ContentKey(ModelFileSpec spec)
    {
        if (spec.Sha256 is { } pinned) return pinned.ToLowerInvariant();
        string path = Resolve(spec);
        string bin = Path.ChangeExtension(path, ".bin");
        if (!path.EndsWith(".xml", StringComparison.OrdinalIgnoreCase) || !System.IO.File.Exists(bin)) return Sha256Of(path);
        return Convert.ToHexStringLower(SHA256.HashData(System.Text.Encoding.ASCII.GetBytes(Sha256Of(path) + Sha256Of(bin))));
    }

    public static string Sha256Of(string path)
    {
        using var stream = System.IO.File.OpenRead(path);
        return Convert.ToHexStringLower(SHA256.HashData(stream));
    }

    /// <summary>
    /// Opens the spec's model where <see cref="BackendSelection"/> places it (backend, device, fallback), after
    /// checking its file.
    /// </summary>
    public static IInferenceModel Open(ModelFileSpec spec, InferenceOptions options) => BackendSelection.Open(spec, options);

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
