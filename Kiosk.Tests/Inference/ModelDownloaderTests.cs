using System.Net;
using System.Net.Sockets;
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
        var gone = new ModelDownload(new Uri($"http://127.0.0.1:{FileServer.FreePort()}/model.bin"), File().Destination, File().Sha256);
        var e = await Assert.ThrowsAsync<ModelDownloadException>(() => new ModelDownloader(_http).DownloadAsync(gone));
        Assert.Contains("127.0.0.1", e.Message);
    }

    private sealed class SyncProgress(List<(long, long?)> reports) : IProgress<(long Done, long? Total)>
    {
        public void Report((long Done, long? Total) value) { lock (reports) reports.Add(value); }
    }

    /// <summary>Serves one file at /model.bin with byte ranges; anything else is 404. Can cut its first response.</summary>
    private sealed class FileServer : IDisposable
    {
        private readonly HttpListener _listener = new();
        private readonly byte[] _content;
        private readonly Task _serving;

        public Uri Root { get; }
        public int? CutFirstResponseAfter { get; set; }
        public List<string?> Ranges { get; } = [];

        public FileServer(byte[] content)
        {
            _content = content;
            Root = new Uri($"http://127.0.0.1:{FreePort()}/");
            _listener.Prefixes.Add(Root.ToString());
            _listener.Start();
            _serving = Task.Run(ServeAsync);
        }

        public static int FreePort()
        {
            var l = new TcpListener(IPAddress.Loopback, 0);
            l.Start();
            int port = ((IPEndPoint)l.LocalEndpoint).Port;
            l.Stop();
            return port;
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
                    if (ctx.Request.Url!.AbsolutePath != "/model.bin")
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
                        response.AddHeader("Content-Range", $"bytes {from}-{_content.Length - 1}/{_content.Length}");
                    }
                    response.ContentLength64 = _content.Length - from;
                    if (CutFirstResponseAfter is { } cut)
                    {
                        CutFirstResponseAfter = null;
                        await response.OutputStream.WriteAsync(_content.AsMemory(from, cut));
                        await response.OutputStream.FlushAsync();
                        response.Abort(); // the connection drops mid-body
                        continue;
                    }
                    await response.OutputStream.WriteAsync(_content.AsMemory(from));
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
