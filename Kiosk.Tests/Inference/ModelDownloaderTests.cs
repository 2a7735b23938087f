using System.Net;
using System.Security.Cryptography;
using Kiosk.Vision.Models;

namespace Kiosk.Tests.Inference;

/// <summary><see cref="ModelDownloader"/> against a real HTTP server on loopback: resume after a cut, a wrong hash, a missing file.</summary>
public sealed class ModelDownloaderTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("kiosk-fetch-").FullName;
    private readonly byte[] _model = RandomNumberGenerator.GetBytes(700_000);
    private readonly FileServer _server;
    private readonly HttpClient _http = new();

    public ModelDownloaderTests() => _server = new FileServer(_model);

    public void Dispose()
    {
        _http.Dispose();
        _server.Dispose();
        Directory.Delete(_dir, recursive: true);
    }

    private ModelDownload File(string name = "model.bin", string? sha = null, long? size = null) =>
        new(new Uri(_server.Root, name), Path.Combine(_dir, "omz", "model.bin"), sha ?? Convert.ToHexStringLower(SHA256.HashData(_model)), size ?? _model.Length);

    [Fact]
    public async Task A_transfer_cut_midway_resumes_from_where_it_stopped_and_the_file_is_verified()
    {
        _server.CutFirstResponseAfter = 300_000;
        var downloader = new ModelDownloader(_http);
        var cut = await Assert.ThrowsAsync<ModelDownloadException>(() => downloader.DownloadAsync(File()));
        Assert.Contains("run the same command again to resume", cut.Message);
        Assert.False(System.IO.File.Exists(File().Destination)); // nothing unverified in place
        long partial = new FileInfo(File().Destination + ".part").Length;
        Assert.InRange(partial, 1, _model.Length - 1);

        var reports = new List<(long Done, long? Total)>();
        Assert.True(await downloader.DownloadAsync(File(), new SyncProgress(reports)));
        Assert.Equal(_model, await System.IO.File.ReadAllBytesAsync(File().Destination));
        Assert.False(System.IO.File.Exists(File().Destination + ".part"));
        Assert.Equal($"bytes={partial}-", _server.Ranges[^1]); // the second request asked only for the rest
        Assert.Equal((_model.Length, (long?)_model.Length), reports[^1]);

        // In place and verified: not fetched again.
        int requests = _server.Ranges.Count;
        Assert.False(await downloader.DownloadAsync(File()));
        Assert.Equal(requests, _server.Ranges.Count);
    }

    [Fact]
    public async Task A_file_with_the_wrong_hash_is_refused_and_deleted()
    {
        string wrong = new('0', 64);
        var e = await Assert.ThrowsAsync<ModelDownloadException>(() => new ModelDownloader(_http).DownloadAsync(File(sha: wrong)));
        Assert.Contains("SHA-256", e.Message);
        Assert.Contains("deleted", e.Message);
        Assert.False(System.IO.File.Exists(File().Destination));
        Assert.False(System.IO.File.Exists(File().Destination + ".part"));
    }

    [Fact]
    public async Task A_file_in_place_but_damaged_is_fetched_again()
    {
        Directory.CreateDirectory(Path.GetDirectoryName(File().Destination)!);
        await System.IO.File.WriteAllBytesAsync(File().Destination, _model.AsSpan(0, 1000).ToArray());
        Assert.True(await new ModelDownloader(_http).DownloadAsync(File()));
        Assert.Equal(_model, await System.IO.File.ReadAllBytesAsync(File().Destination));
    }

    [Fact]
    public async Task A_missing_file_is_a_clear_error_naming_the_url_and_the_status()
    {
        var e = await Assert.ThrowsAsync<ModelDownloadException>(() => new ModelDownloader(_http).DownloadAsync(File("missing.bin")));
        Assert.Contains("missing.bin", e.Message);
        Assert.Contains("404", e.Message);
        Assert.False(System.IO.File.Exists(File().Destination));
    }

    [Fact]
    public async Task A_server_that_is_not_there_is_a_clear_error()
    {
        var gone = new ModelDownload(new Uri($"http://127.0.0.1:{Kiosk.Tests.Mqtt.MosquittoBroker.FreePort()}/model.bin"), File().Destination, File().Hash);
        var e = await Assert.ThrowsAsync<ModelDownloadException>(() => new ModelDownloader(_http).DownloadAsync(gone));
        Assert.Contains("127.0.0.1", e.Message);
    }

    private sealed class SyncProgress(List<(long, long?)> reports) : IProgress<(long Done, long? Total)>
    {
        public void Report((long Done, long? Total) value) { lock (reports) reports.Add(value); }
    }

    [Fact]
    public async Task A_sha384_pin_as_the_open_model_zoo_publishes_is_checked_the_same_way()
    {
        string sha384 = Convert.ToHexStringLower(SHA384.HashData(_model));
        Assert.True(await new ModelDownloader(_http).DownloadAsync(File(sha: sha384)));
        Assert.Equal(_model, await System.IO.File.ReadAllBytesAsync(File().Destination));
        System.IO.File.Delete(File().Destination);
        var e = await Assert.ThrowsAsync<ModelDownloadException>(() => new ModelDownloader(_http).DownloadAsync(File(sha: new string('a', 96))));
        Assert.Contains("SHA-384", e.Message);
        Assert.False(System.IO.File.Exists(File().Destination));
        Assert.Throws<ArgumentException>(() => FileHash.AlgorithmOf("abc")); // neither length: refused before any byte
    }

    [Fact]
    public void An_open_model_zoo_fetch_plan_takes_the_model_ymls_files_or_the_same_paths_on_a_mirror()
    {
        var reid = OmzDownloads.Find("face-reidentification-retail-0095")!;
        var plan = OmzFetch.Plan(reid, "FP16", _dir);
        Assert.Equal(["FP16/face-reidentification-retail-0095.xml", "FP16/face-reidentification-retail-0095.bin"],
            plan.Select(d => Path.GetRelativePath(Path.Combine(_dir, "omz", reid.Name), d.Destination)));
        Assert.All(plan, d => Assert.Equal("storage.openvinotoolkit.org", d.Url.Host));
        Assert.All(plan, d => Assert.Equal(96, d.Hash.Length));
        var mirrored = OmzFetch.Plan(reid, "FP16", _dir, new Uri("http://10.0.0.5:8080/omz"), OmzDownloads.LtsRelease);
        Assert.Equal("http://10.0.0.5:8080/omz/repositories/open_model_zoo/2022.3/models_bin/1/face-reidentification-retail-0095/FP16/face-reidentification-retail-0095.xml",
            mirrored[0].Url.ToString());
        Assert.NotEqual(plan[0].Hash, mirrored[0].Hash); // the 2022.3 IR is another file
        Assert.Contains("comes in FP32, FP16, FP16-INT8", Assert.Throws<ModelDownloadException>(() => OmzFetch.Plan(reid, "INT4", _dir)).Message);
    }

    [Fact]
    public async Task Models_fetch_against_a_mirror_deletes_files_with_the_wrong_hash_and_names_a_missing_one()
    {
        var reid = OmzDownloads.Find("face-reidentification-retail-0095")!;
        var sizes = reid.Files.Where(f => f.Release == OmzDownloads.CurrentRelease && f.Precision == "FP32").ToDictionary(f => new Uri(f.Url).AbsolutePath, f => f.Size);
        // The mirror serves bytes of the right length but not the model (the .xml), and nothing for the .bin.
        using var mirror = new FileServer(path => sizes.TryGetValue(path, out long n) && path.EndsWith(".xml", StringComparison.Ordinal) ? new byte[n] : null);
        string cache = Path.Combine(_dir, "cache");
        var (exit, output) = await Kiosk.Tests.Host.DoctorTests.KioskWith(new Dictionary<string, string?> { ["KIOSK_CACHE_DIR"] = cache, ["COLUMNS"] = "200" },
            "models", "fetch", reid.Name, "--mirror", mirror.Root.ToString(), "--release", "2023.0");
        Assert.True(exit == 2, output);
        Assert.Contains("SHA-384", output);
        Assert.Contains("the file was deleted", output);
        Assert.Contains("HTTP 404", output);
        Assert.Contains("face-reidentification-retail-0095.bin", output);
        Assert.False(Directory.Exists(cache) && Directory.EnumerateFiles(cache, "*", SearchOption.AllDirectories).Any());
    }

    /// <summary>Serves files with byte ranges (one at /model.bin, or any path a function answers); the rest is 404. Can cut its first response.</summary>
    private sealed class FileServer : IDisposable
    {
        private readonly HttpListener _listener = new();
        private readonly Func<string, byte[]?> _contentAt;
        private readonly Task _serving;

        public Uri Root { get; }
        public int? CutFirstResponseAfter { get; set; }
        public List<string?> Ranges { get; } = [];

        public FileServer(byte[] content) : this(path => path == "/model.bin" ? content : null) { }

        public FileServer(Func<string, byte[]?> contentAt)
        {
            _contentAt = contentAt;
            Root = new Uri($"http://127.0.0.1:{Kiosk.Tests.Mqtt.MosquittoBroker.FreePort()}/");
            _listener.Prefixes.Add(Root.ToString());
            _listener.Start();
            _serving = Task.Run(ServeAsync);
        }

        private async Task ServeAsync()
        {
            while (_listener.IsListening)
            {
                HttpListenerContext ctx;
                try { ctx = await _listener.GetContextAsync(); }
                catch (Exception e) when (e is HttpListenerException or ObjectDisposedException or InvalidOperationException) { return; }
                var response = ctx.Response;
                try
                {
                    if (_contentAt(ctx.Request.Url!.AbsolutePath) is not { } content)
                    {
                        response.StatusCode = 404;
                        response.Close();
                        continue;
                    }
                    string? range = ctx.Request.Headers["Range"];
                    lock (Ranges) Ranges.Add(range);
                    int from = range is { } r && r.StartsWith("bytes=", StringComparison.Ordinal) ? int.Parse(r[6..].TrimEnd('-'), System.Globalization.CultureInfo.InvariantCulture) : 0;
                    if (from > 0)
                    {
                        response.StatusCode = 206;
                        response.AddHeader("Content-Range", $"bytes {from}-{content.Length - 1}/{content.Length}");
                    }
                    response.ContentLength64 = content.Length - from;
                    if (CutFirstResponseAfter is { } cut)
                    {
                        CutFirstResponseAfter = null;
                        await response.OutputStream.WriteAsync(content.AsMemory(from, cut));
                        await response.OutputStream.FlushAsync();
                        response.Abort(); // the connection drops mid-body
                        continue;
                    }
                    await response.OutputStream.WriteAsync(content.AsMemory(from));
                    response.Close();
                }
                catch (Exception e) when (e is HttpListenerException or IOException)
                {
                    response.Abort();
                }
            }
        }

        public void Dispose()
        {
            _listener.Stop();
            _listener.Close();
            try { _serving.Wait(TimeSpan.FromSeconds(5)); } catch (AggregateException) { }
        }
    }
}
