using Kiosk.Vision.Interop.OnnxRuntime;
using Kiosk.Vision.Interop.OpenVino;
using Kiosk.Vision.Models;
using Microsoft.Extensions.Logging;

namespace Kiosk.Vision.Inference;

/// <summary>One way to run a model: backend, device, and the file (relative to the models cache, or absolute) it reads.</summary>
public sealed record BackendCandidate(string Backend, string Device, string File)
{
    public override string ToString() => $"{Backend} {Device}";
}

/// <summary>
/// Chooses where a model runs and opens it there. The order is MYRIAD (when an NCS2 is listed), OpenVINO CPU, ONNX
/// Runtime; which of them a spec may use follows from its backend, its device, the fallback setting and its files
/// (ONNX Runtime reads only ONNX; OpenVINO reads IR and ONNX). The same spec gives the same output on each, within
/// float tolerance, so a fallback never invalidates the gallery's templates.
/// </summary>
public static class BackendSelection
{
    /// <summary>
    /// The candidates for <paramref name="spec"/>, best first. Pure: the OpenVINO state is given, so every path is
    /// testable without the runtime. <paramref name="notes"/> gets why candidates were left out (for messages).
    /// </summary>
    public static IReadOnlyList<BackendCandidate> Plan(ModelFileSpec spec, InferenceOptions options, OpenVinoStatus openVino, List<string> notes)
    {
        string backend = options.Backend ?? spec.Backend;
        string device = options.Device ?? spec.Device;
        bool fallback = options.Fallback;
        bool myriadListed = openVino.Available && openVino.Devices.Any(d => d.Name.StartsWith("MYRIAD", StringComparison.Ordinal));
        string ovFile = spec.ResolvedFile;
        string? onnx = spec.OnnxPath;
        var list = new List<BackendCandidate>(4);

        void OpenVino(string d)
        {
            if (!list.Exists(c => c.Backend == "openvino" && c.Device == d)) list.Add(new("openvino", d, ovFile));
        }
        void OpenVinoFor(string d, bool walk)
        {
            if (d == "auto")
            {
                if (myriadListed) OpenVino("MYRIAD");
                OpenVino("CPU");
            }
            else
            {
                OpenVino(d);
                if (walk && d != "CPU") OpenVino("CPU");
            }
        }
        void OnnxRuntime()
        {
            if (onnx is not null) list.Add(new("onnxruntime", "CPU", onnx));
            else notes.Add($"ONNX Runtime cannot run it: {Path.GetFileName(ovFile)} is an OpenVINO IR and the spec names no ONNX export (onnxFile)");
        }

        switch (backend)
        {
            case "onnxruntime":
                OnnxRuntime();
                break;
            case "openvino":
                // Asked for by name: tried even when the runtime is absent, so that its own precise error is the one seen.
                OpenVinoFor(device, fallback);
                if (fallback) OnnxRuntime();
                break;
            default: // auto
                if (openVino.Available) OpenVinoFor(device, walk: true);
                else notes.Add($"OpenVINO is not available ({openVino.Error})");
                OnnxRuntime();
                break;
        }
        return list;
    }

    /// <summary>
    /// Opens <paramref name="spec"/> on the first candidate that works; when later candidates remain, the model
    /// returned moves to them by itself if its backend fails while running (the NCS2 unplugged).
    /// </summary>
    /// <exception cref="BackendUnavailableException">no candidate can run it; the message gives each one's reason</exception>
    public static IInferenceModel Open(ModelFileSpec spec, InferenceOptions options)
    {
        var notes = new List<string>();
        string backend = options.Backend ?? spec.Backend;
        // The runtime is probed only when a model could use it: a plain ONNX Runtime set-up never loads it.
        var openVino = backend == "onnxruntime" ? new OpenVinoStatus(false, null, null, [], "not needed") : OpenVinoRuntime.Probe();
        var candidates = Plan(spec, options, openVino, notes);
        if (candidates.Count == 0)
            throw new BackendUnavailableException($"Model '{spec.Name}' cannot run here: {string.Join("; ", notes)}. " +
                                                  "Install OpenVINO (README, 'OpenVINO'), or choose a model with an ONNX file.");
        var failures = new List<(BackendCandidate Candidate, Exception Error)>();
        for (int i = 0; i < candidates.Count; i++)
        {
            var c = candidates[i];
            IInferenceModel model;
            try
            {
                model = OpenOn(spec, c, options);
            }
            catch (Exception e) when (IsBackendFailure(e))
            {
                failures.Add((c, e));
                continue;
            }
            Placed(spec, options, candidates[0], c, failures.Count > 0 ? $"{failures[0].Candidate}: {failures[0].Error.Message}" : null, notes);
            var rest = candidates.Skip(i + 1).ToArray();
            return rest.Length == 0 ? model : new FallbackModel(spec, model, rest, options);
        }
        // A file that is missing or not the pinned one is the same problem on every backend: that error, as it is.
        if (failures.TrueForAll(f => f.Error is ModelFileException))
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(failures[0].Error);
        throw new BackendUnavailableException($"Model '{spec.Name}' cannot run on any backend here: " +
                                              string.Join("; ", failures.Select(f => $"{f.Candidate}: {f.Error.Message}").Concat(notes)));
    }

    /// <summary>Failures that belong to the backend or device, not to the model: another backend may succeed.</summary>
    internal static bool IsBackendFailure(Exception e) =>
        e is BackendUnavailableException or OpenVinoException or OpenVinoNotFoundException or OnnxRuntimeNotFoundException or ModelFileException;

    internal static IInferenceModel OpenOn(ModelFileSpec spec, BackendCandidate c, InferenceOptions options)
    {
        // The runtime and device first: without OpenVINO, that (not a file still to fetch) is what the user must hear.
        if (c.Backend == "openvino") OpenVinoRuntime.EnsureDevice(c.Device);
        string path = ModelFiles.Resolve(spec, c.File);
        return c.Backend switch
        {
            "openvino" => new OpenVinoModel(spec.Name, path, c.Device, options),
            "onnxruntime" => new OnnxRuntimeModel(spec.Name, path, options),
            _ => throw new BackendUnavailableException($"Model '{spec.Name}': unknown backend '{c.Backend}'"),
        };
    }

    private static void Placed(ModelFileSpec spec, InferenceOptions options, BackendCandidate first, BackendCandidate used, string? failure, List<string> notes)
    {
        var log = options.Logger;
        if (failure is not null)
        {
            if (log is not null) Log.ModelFellBack(log, spec.Name, first.ToString(), failure, used.Backend, used.Device);
        }
        else if (log is not null)
        {
            if ((options.Backend ?? spec.Backend) == "auto") Log.ModelPlacedAuto(log, spec.Name, used.Backend, used.Device, notes.Count > 0 ? notes[0] : "its first choice");
            else Log.ModelPlaced(log, spec.Name, used.Backend, used.Device);
        }
        options.Report?.Set(new ModelPlacement(spec.Name, used.Backend, used.Device, failure is null ? null : first.ToString(), failure, DateTimeOffset.UtcNow));
    }
}
