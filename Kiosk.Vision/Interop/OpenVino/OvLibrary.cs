using System.Globalization;
using System.Runtime.InteropServices;
using System.Text.RegularExpressions;

namespace Kiosk.Vision.Interop.OpenVino;

/// <summary>
/// Finds and loads libopenvino_c (OpenVINO C API 2.0, releases 2022.3 LTS to current) once per process, resolves its
/// functions and reads its version. Looked for, in order: the path set by <see cref="Configure"/> or
/// KIOSK_OPENVINO_LIBRARY (only that, when set); beside the application; $INTEL_OPENVINO_DIR/runtime/lib/&lt;arch&gt;;
/// /opt/intel/openvino*/runtime/lib/&lt;arch&gt; (newest first); each directory of LD_LIBRARY_PATH; /usr/lib/&lt;multiarch&gt;
/// (where the APT packages put libopenvino_c.so.2022.3.0, or libopenvino_c.so.2024.6.0 with its soname
/// libopenvino_c.so.2460); /usr/local/lib; then the system loader's own search for libopenvino_c.so and the versioned
/// sonames.
/// </summary>
public static unsafe partial class OvLibrary
{
    /// <summary>Oldest release whose C API this binding is written against.</summary>
    public static readonly (int Year, int Release) OldestSupported = (2022, 3);

    private const string FileName = "libopenvino_c.so";
    private static readonly Lock Gate = new();
    private static string? _configuredPath;
    private static OvNative? _api;
    private static string? _loadedFrom;
    private static string? _version;
    private static OvElementNumbering _numbering;

    /// <summary>Sets the library path before first use (a different path after loading is rejected).</summary>
    public static void Configure(string? libraryPath)
    {
        lock (Gate)
        {
            if (_api is not null && libraryPath != _configuredPath)
                throw new InvalidOperationException("OpenVINO is already loaded; set its path before first use");
            _configuredPath = libraryPath;
        }
    }

    public static bool IsLoaded => Volatile.Read(ref _api) is not null;

    /// <summary>The path set by <see cref="Configure"/> (null: KIOSK_OPENVINO_LIBRARY, else the search).</summary>
    internal static string? ConfiguredPath { get { lock (Gate) return _configuredPath; } }

    /// <summary>
    /// Tests only: frees the shared core and forgets the loaded library and the configuration, so that the next use
    /// searches again. The native library stays mapped (a second load finds it); nothing else may be open.
    /// </summary>
    internal static void ResetForTests()
    {
        lock (Gate)
        {
            OvCore.ResetForTests();
            Volatile.Write(ref _api, null);
            _version = null;
            _loadedFrom = null;
            _configuredPath = null;
        }
    }

    internal static OvNative Api => Volatile.Read(ref _api) ?? Load();

    // The table of the library that made a handle: releasing never loads anything (a finalizer after
    // ResetForTests must not search for a library), and a handle exists only if a library was loaded.
    private static OvNative? _released;
    internal static OvNative ReleaseApi => Volatile.Read(ref _api) ?? Volatile.Read(ref _released)!;

    /// <summary>ov_get_openvino_version's buildNumber, e.g. "2022.3.0-9052-9752fafe8eb-releases/2022/3" (loads the library).</summary>
    public static string Version { get { _ = Api; return _version!; } }

    /// <summary>Full path of the loaded library, or the soname the system loader resolved.</summary>
    public static string LoadedFrom { get { _ = Api; return _loadedFrom!; } }

    /// <summary>The ov_element_type_e numbering of the loaded library.</summary>
    internal static OvElementNumbering Numbering { get { _ = Api; return _numbering; } }

    [GeneratedRegex(@"^\s*(\d{4})\.(\d+)")]
    private static partial Regex ReleasePattern();

    /// <summary>"2022.3.0-9052-..." -> (2022, 3).</summary>
    public static (int Year, int Release) ReleaseOf(string version)
    {
        var m = ReleasePattern().Match(version ?? "");
        if (!m.Success)
            throw new FormatException($"'{version}' is not an OpenVINO version (expected YYYY.R..., e.g. 2022.3.0-9052-9752fafe8eb-releases/2022/3)");
        return (int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture), int.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture));
    }

    /// <summary>True for releases that still ship the MYRIAD plugin (Intel NCS2): 2022.3 LTS and older.</summary>
    public static bool HasMyriad(string version)
    {
        var (year, release) = ReleaseOf(version);
        return year < 2022 || (year == 2022 && release <= 3);
    }

    /// <summary>Where the library is looked for, in order (see the class summary).</summary>
    public static IReadOnlyList<string> Candidates() => Plan().SelectMany(p => p.Names).ToArray();

    /// <summary>One group of candidates: a file, a directory's files, or the loader's search.</summary>
    private sealed record Place(string Description, IReadOnlyList<string> Names, string? MissingDirectory = null, string? Note = null);

    private static List<Place> Plan()
    {
        var places = new List<Place>();
        string? configured = _configuredPath ?? Environment.GetEnvironmentVariable("KIOSK_OPENVINO_LIBRARY");
        if (!string.IsNullOrEmpty(configured))
        {
            places.Add(new Place(configured, [configured]));
            return places;
        }
        string[] archDirs = RuntimeInformation.ProcessArchitecture == Architecture.Arm64 ? ["aarch64", "arm64"] : ["intel64"];
        AddDirectory(places, AppContext.BaseDirectory);
        string? intel = Environment.GetEnvironmentVariable("INTEL_OPENVINO_DIR");
        if (!string.IsNullOrEmpty(intel))
            foreach (var a in archDirs) AddDirectory(places, Path.Combine(intel, "runtime", "lib", a));
        else
            places.Add(new Place("INTEL_OPENVINO_DIR", [], Note: "$INTEL_OPENVINO_DIR (not set: setupvars.sh of an archive install sets it)"));
        var installs = OptIntelInstalls().ToArray();
        if (installs.Length == 0)
            places.Add(new Place("/opt/intel", [], Note: "/opt/intel/openvino* (no archive install there)"));
        foreach (var root in installs)
            foreach (var a in archDirs) AddDirectory(places, Path.Combine(root, "runtime", "lib", a));
        foreach (var dir in (Environment.GetEnvironmentVariable("LD_LIBRARY_PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries))
            AddDirectory(places, dir);
        string multiarch = RuntimeInformation.ProcessArchitecture == Architecture.Arm64 ? "aarch64-linux-gnu" : "x86_64-linux-gnu";
        AddDirectory(places, Path.Combine("/usr/lib", multiarch));
        AddDirectory(places, "/usr/local/lib");
        places.Add(new Place($"the system loader's search for {FileName} and its versioned sonames", [FileName, .. LoaderSonames()]));
        return places;
    }

    private static void AddDirectory(List<Place> places, string dir)
    {
        string full = Path.TrimEndingDirectorySeparator(Path.GetFullPath(dir));
        if (places.Any(p => p.MissingDirectory == full || p.Description == full)) return;
        if (!Directory.Exists(full))
        {
            places.Add(new Place(full, [Path.Combine(full, FileName)], MissingDirectory: full));
            return;
        }
        // libopenvino_c.so (a development symlink), then the versioned files newest first: libopenvino_c.so.2022.3.0
        // (2022.3 packages), libopenvino_c.so.2024.6.0 and its soname libopenvino_c.so.2460 (2023.1 and later).
        var names = new List<string> { Path.Combine(full, FileName) };
        try
        {
            names.AddRange(Directory.EnumerateFiles(full, FileName + ".*")
                .Select(f => (File: f, Version: SuffixVersion(Path.GetFileName(f)[(FileName.Length + 1)..])))
                .Where(x => x.Version is not null)
                .OrderByDescending(x => x.Version).ThenByDescending(x => x.File.Length)
                .Select(x => x.File));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // An unreadable directory still contributes its plain name; the reason shows when that fails.
        }
        places.Add(new Place(full, names));
    }

    /// <summary>"2022.3.0" -> 2022.3.0; a soname suffix "2460" (YY, release, patch) -> 2024.6.0.</summary>
    internal static Version? SuffixVersion(string suffix)
    {
        if (System.Version.TryParse(suffix, out var v) && v.Major >= 2000) return v;
        if (suffix.Length == 4 && suffix.All(char.IsAsciiDigit))
            return new Version(2000 + int.Parse(suffix[..2], CultureInfo.InvariantCulture), suffix[2] - '0', suffix[3] - '0');
        return null;
    }

    /// <summary>/opt/intel/openvino* installs, versioned ones newest first, then unversioned links (openvino, openvino_2022).</summary>
    private static IEnumerable<string> OptIntelInstalls()
    {
        if (!Directory.Exists("/opt/intel")) return [];
        try
        {
            return Directory.GetDirectories("/opt/intel", "openvino*")
                .Select(d => (Dir: d, Version: DirectoryVersion(Path.GetFileName(d))))
                .OrderByDescending(x => x.Version is not null).ThenByDescending(x => x.Version).ThenBy(x => x.Dir, StringComparer.Ordinal)
                .Select(x => x.Dir).ToArray();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return [];
        }
    }

    [GeneratedRegex(@"(\d{4}(?:\.\d+){0,3})")]
    private static partial Regex DirectoryVersionPattern();

    private static Version? DirectoryVersion(string name)
    {
        var m = DirectoryVersionPattern().Match(name);
        if (!m.Success) return null;
        string s = m.Groups[1].Value;
        return System.Version.TryParse(s.Contains('.') ? s : s + ".0", out var v) ? v : null;
    }

    /// <summary>Sonames of 2022.3.0 .. 2027.6.2 for the loader, newest first: libopenvino_c.so.2760 ... libopenvino_c.so.2230.</summary>
    private static IEnumerable<string> LoaderSonames()
    {
        for (int year = 2027; year >= 2022; year--)
            for (int release = 6; release >= 0; release--)
                for (int patch = 2; patch >= 0; patch--)
                    if (year > 2022 || release >= 3)
                        yield return $"{FileName}.{year - 2000}{release}{patch}";
    }

    private static OvNative Load()
    {
        lock (Gate)
        {
            if (_api is not null) return _api;
            var arch = RuntimeInformation.ProcessArchitecture;
            if (!OperatingSystem.IsLinux() || (arch != Architecture.X64 && arch != Architecture.Arm64))
                throw new OpenVinoNotFoundException(
                    $"The OpenVINO binding runs on linux-x64 and linux-arm64 only (its variadic calls rely on their calling conventions); this is {RuntimeInformation.OSDescription} {arch}.");
            var tried = new List<string>();
            foreach (var place in Plan())
            {
                if (place.Note is not null)
                {
                    tried.Add(place.Note);
                    continue;
                }
                if (place.MissingDirectory is not null)
                {
                    tried.Add($"{place.MissingDirectory} (no such directory)");
                    continue;
                }
                bool loaderSearch = place.Names.Count > 1 && !place.Names[0].Contains('/');
                var loaderFailures = 0;
                foreach (var candidate in place.Names)
                {
                    string? refusal = TryCandidate(candidate, out bool notFound);
                    if (refusal is null) return _api!;
                    if (loaderSearch && notFound) { loaderFailures++; continue; }
                    tried.Add($"{candidate} ({refusal})");
                }
                if (loaderSearch && loaderFailures > 0)
                    tried.Add($"{place.Description}: {FileName}, {place.Names[1]} ... {place.Names[^1]} ({loaderFailures} names, none known to the loader)");
            }
            throw new OpenVinoNotFoundException(
                "OpenVINO runtime (libopenvino_c.so, release 2022.3 LTS or newer) not found. Install it as the README's " +
                "OpenVINO section describes (2022.3 LTS for the Intel NCS2 / MYRIAD, any current release for CPU, GPU or NPU), " +
                "or set KIOSK_OPENVINO_LIBRARY to the full path of libopenvino_c.so. Tried: " + string.Join("; ", tried));
        }
    }

    /// <summary>Loads and checks one candidate; null on success, else why it was refused.</summary>
    private static string? TryCandidate(string candidate, out bool notFound)
    {
        notFound = false;
        bool isPath = candidate.Contains('/');
        if (isPath && !File.Exists(candidate)) { notFound = true; return "not found"; }
        nint lib;
        try
        {
            lib = NativeLibrary.Load(candidate);
        }
        catch (Exception e) when (e is DllNotFoundException or BadImageFormatException)
        {
            notFound = !isPath;
            return "cannot be loaded: " + FirstLine(e.Message);
        }
        string? refusal = Adopt(lib, candidate);
        if (refusal is not null) NativeLibrary.Free(lib);
        return refusal;
    }

    private static string FirstLine(string s)
    {
        int nl = s.IndexOf('\n');
        return (nl < 0 ? s : s[..nl]).Trim();
    }

    /// <summary>Resolves the table of a loaded library and reads its version; null on success.</summary>
    private static string? Adopt(nint lib, string candidate)
    {
        if (!NativeLibrary.TryGetExport(lib, "ov_get_openvino_version", out _))
            return "no ov_get_openvino_version export: not the OpenVINO C API 2.0 library libopenvino_c";
        var missing = OvNative.RequiredExports.Where(n => !NativeLibrary.TryGetExport(lib, n, out _)).ToArray();
        if (missing.Length > 0)
            return $"an OpenVINO C API without {string.Join(", ", missing)}: older than {OldestSupported.Year}.{OldestSupported.Release}";
        var api = new OvNative(lib);
        ov_version_t v = default;
        var status = api.ov_get_openvino_version(&v);
        if (status != OvStatus.Ok) return $"ov_get_openvino_version failed: [{status}]";
        string version;
        try { version = Marshal.PtrToStringUTF8((nint)v.buildNumber) ?? ""; }
        finally { api.ov_version_free(&v); }
        (int Year, int Release) release;
        try { release = ReleaseOf(version); }
        catch (FormatException) { return $"unrecognised version string '{version}'"; }
        if (release.CompareTo(OldestSupported) < 0)
            return $"OpenVINO {version} is older than {OldestSupported.Year}.{OldestSupported.Release} LTS, the oldest release this kiosk supports";
        var numbering = OvElementTypes.ForRelease(release.Year, release.Release);
        // The release decides the numbering; a one-element tensor confirms it against the library itself (a custom
        // build can carry any version string). Its byte size is ground truth, so it wins if the two disagree.
        if (ProbeNumbering(api) is { } probed) numbering = probed;
        _numbering = numbering;
        _version = version;
        _loadedFrom = candidate;
        Volatile.Write(ref _api, api);
        Volatile.Write(ref _released, api);
        return null;
    }

    private static OvElementNumbering? ProbeNumbering(OvNative api)
    {
        long one = 1;
        ov_shape_t shape = default;
        if (api.ov_shape_create(1, &one, &shape) != OvStatus.Ok) return null;
        try
        {
            nint tensor;
            if (api.ov_tensor_create(OvElementTypes.ProbeValue, shape, &tensor) != OvStatus.Ok) return null;
            try
            {
                nuint bytes;
                return api.ov_tensor_get_byte_size(tensor, &bytes) == OvStatus.Ok ? OvElementTypes.FromProbe(bytes) : null;
            }
            finally { api.ov_tensor_free(tensor); }
        }
        finally { api.ov_shape_free(&shape); }
    }

    /// <summary>Throws the typed exception for a status other than OK.</summary>
    internal static void Check(OvStatus status, string operation)
    {
        if (status != OvStatus.Ok) Throw(status, operation);
    }

    private static void Throw(OvStatus status, string operation)
    {
        var api = _api!;
        string message = Marshal.PtrToStringUTF8((nint)api.ov_get_error_info(status)) ?? "(no message)";
        // ov_get_last_err_msg (2023.x+) holds the text of the last C++ exception the C layer caught, for any thread.
        // Every status but the C layer's own argument checks comes from such an exception (in 2023.x also
        // NOT_FOUND, PARAMETER_MISMATCH, NETWORK_NOT_READ ... from the Inference Engine ones); for those checks
        // (INVALID_C_PARAM, NOT_IMPLEMENT_C_METHOD, UNKNOWN_C_ERROR) it would be a stale message of an earlier failure.
        if (api.ov_get_last_err_msg != null && status is not (OvStatus.InvalidCParam or OvStatus.NotImplementCMethod or OvStatus.UnknownCError))
        {
            byte* last = api.ov_get_last_err_msg();
            if (last != null)
            {
                try
                {
                    string detail = Marshal.PtrToStringUTF8((nint)last) ?? "";
                    if (detail.Length > 0) message = detail.Trim();
                }
                finally { api.ov_free(last); }
            }
        }
        throw new OpenVinoException(status, operation, message);
    }

    /// <summary>Copies an OpenVINO-allocated string and frees it with ov_free.</summary>
    internal static string TakeString(byte* s)
    {
        if (s == null) return "";
        try { return Marshal.PtrToStringUTF8((nint)s) ?? ""; }
        finally { Api.ov_free(s); }
    }
}
