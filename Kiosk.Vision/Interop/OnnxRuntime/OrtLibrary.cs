using System.Runtime.InteropServices;

namespace Kiosk.Vision.Interop.OnnxRuntime;

/// <summary>Every failure ONNX Runtime reports, with its own error code and message.</summary>
public sealed class OnnxRuntimeException : Exception
{
    public OrtErrorCode ErrorCode { get; }

    public OnnxRuntimeException(OrtErrorCode code, string message) : base($"ONNX Runtime: [{code}] {message}")
    {
        ErrorCode = code;
    }
}

/// <summary>Raised when no usable ONNX Runtime native library can be loaded.</summary>
public sealed class OnnxRuntimeNotFoundException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>
/// Finds and loads libonnxruntime once per process and reads its API table. The library is looked for, in order:
/// the path set by <see cref="Configure"/> or KIOSK_ORT_LIBRARY, the kiosk cache (where scripts/setup.sh puts the
/// pinned build), beside the application (published bundles), then the system loader's own search.
/// </summary>
public static unsafe class OrtLibrary
{
    public const string PinnedVersion = "1.30.0";
    private static readonly Lock Gate = new();
    private static string? _configuredPath;
    private static OrtApi? _api;
    private static string? _loadedFrom;
    private static string? _version;

    /// <summary>Sets the library path before first use (later calls after loading are rejected).</summary>
    public static void Configure(string? libraryPath)
    {
        lock (Gate)
        {
            if (_api is not null && libraryPath != _configuredPath)
                throw new InvalidOperationException("ONNX Runtime is already loaded; set its path before first use");
            _configuredPath = libraryPath;
        }
    }

    internal static OrtApi Api => _api ?? Load();

    /// <summary>Version string the loaded library reports (loads it if needed).</summary>
    public static string Version { get { _ = Api; return _version!; } }

    /// <summary>Full path of the loaded library, or the soname the system loader resolved.</summary>
    public static string LoadedFrom { get { _ = Api; return _loadedFrom!; } }

    public static IReadOnlyList<string> Candidates()
    {
        var list = new List<string>();
        string? path = _configuredPath ?? Environment.GetEnvironmentVariable("KIOSK_ORT_LIBRARY");
        if (!string.IsNullOrEmpty(path)) { list.Add(path); return list; }
        list.Add(Path.Combine(KioskPaths.CacheDir, "onnxruntime", PinnedVersion, KioskPaths.RuntimeId, "libonnxruntime.so.1"));
        list.Add(Path.Combine(AppContext.BaseDirectory, "libonnxruntime.so.1"));
        list.Add("libonnxruntime.so.1");
        return list;
    }

    private static OrtApi Load()
    {
        lock (Gate)
        {
            if (_api is not null) return _api;
            var tried = new List<string>();
            foreach (var candidate in Candidates())
            {
                bool isPath = candidate.Contains('/');
                if (isPath && !File.Exists(candidate)) { tried.Add($"{candidate} (not found)"); continue; }
                if (!NativeLibrary.TryLoad(candidate, out nint lib)) { tried.Add($"{candidate} (cannot be loaded)"); continue; }
                if (!NativeLibrary.TryGetExport(lib, "OrtGetApiBase", out nint getBase))
                {
                    tried.Add($"{candidate} (no OrtGetApiBase export: not ONNX Runtime)");
                    NativeLibrary.Free(lib);
                    continue;
                }
                var apiBase = ((delegate* unmanaged<OrtApiBase*>)getBase)();
                string version = Marshal.PtrToStringUTF8((nint)apiBase->GetVersionString()) ?? "?";
                nint table = apiBase->GetApi(OrtApi.MinimumApiVersion);
                if (table == 0)
                {
                    tried.Add($"{candidate} (version {version} is older than this kiosk supports)");
                    NativeLibrary.Free(lib);
                    continue;
                }
                _version = version;
                _loadedFrom = candidate;
                return _api = new OrtApi(table);
            }
            throw new OnnxRuntimeNotFoundException(
                "ONNX Runtime native library not found. Run scripts/setup.sh (it installs the pinned build into the " +
                "cache) or set KIOSK_ORT_LIBRARY. Tried: " + string.Join("; ", tried));
        }
    }

    /// <summary>Throws the typed exception for a non-null OrtStatus*, releasing the status in every case.</summary>
    internal static void Check(nint status)
    {
        if (status != 0) Throw(status);
    }

    private static void Throw(nint status)
    {
        var api = _api!;
        OrtErrorCode code;
        string message;
        try
        {
            code = api.GetErrorCode(status);
            message = Marshal.PtrToStringUTF8((nint)api.GetErrorMessage(status)) ?? "(no message)";
        }
        finally
        {
            api.ReleaseStatus(status);
        }
        throw new OnnxRuntimeException(code, message);
    }
}
