using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;

namespace Kiosk.Vision.Models;

/// <summary>
/// A model file to fetch: where from, where to, and what it must be (size when known, hash always). The hash is the
/// hex digest its source publishes: SHA-256 (64 digits, our own pins) or SHA-384 (96 digits, the Open Model Zoo's).
/// </summary>
public sealed record ModelDownload(Uri Url, string Destination, string Hash, long? Size = null);

/// <summary>A model file could not be fetched or was not what it must be; the message says which and what to do.</summary>
public sealed class ModelDownloadException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>
/// Fetches model files over HTTP(S) into place, verified: the bytes go to <c>FILE.part</c>, an interrupted transfer
/// resumes from there with a Range request, and only a file of the right size and SHA-256 is moved to its name. A
/// file that does not match is deleted, never used. A file already in place with the right hash is not fetched again.
/// </summary>
public sealed class ModelDownloader(HttpClient http)
{
    private const int BufferSize = 1 << 16;

    /// <summary>Downloads (or resumes) one file; <paramref name="progress"/> gets bytes done and the total when known.</summary>
    /// <returns>True when it was fetched, false when it was already in place and verified.</returns>
    /// <exception cref="ModelDownloadException">HTTP error, interrupted transfer (run again to resume), wrong size or hash</exception>
    public async Task<bool> DownloadAsync(ModelDownload file, IProgress<(long Done, long? Total)>? progress = null, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(file);
        string expected = file.Hash.ToLowerInvariant();
        string algorithm = FileHash.AlgorithmOf(expected); // a malformed pin is refused before any byte is fetched
        if (File.Exists(file.Destination) && await FileHash.OfAsync(file.Destination, expected, ct).ConfigureAwait(false) == expected) return false;
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(file.Destination))!);
        string part = file.Destination + ".part";
        long have = File.Exists(part) ? new FileInfo(part).Length : 0;
        if (file.Size is { } size && have > size) { File.Delete(part); have = 0; } // not a prefix of this file

        if (file.Size is not { } known || have < known)
            await FetchAsync(file, part, have, progress, ct).ConfigureAwait(false);

        long length = new FileInfo(part).Length;
        if (file.Size is { } total && length != total)
        {
            File.Delete(part);
            throw new ModelDownloadException($"{file.Url}: got {length} bytes, the model's list says {total}; the file was deleted");
        }
        string actual = await FileHash.OfAsync(part, expected, ct).ConfigureAwait(false);
        if (actual != expected)
        {
            File.Delete(part);
            throw new ModelDownloadException($"{file.Url}: {algorithm} {actual}, expected {expected}; the file was deleted (a changed or damaged download: never used)");
        }
        File.Move(part, file.Destination, overwrite: true);
        return true;
    }

    private async Task FetchAsync(ModelDownload file, string part, long have, IProgress<(long, long?)>? progress, CancellationToken ct)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, file.Url);
        if (have > 0) request.Headers.Range = new RangeHeaderValue(have, null);
        HttpResponseMessage response;
        try
        {
            response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, ct).ConfigureAwait(false);
        }
        catch (HttpRequestException e)
        {
            throw new ModelDownloadException($"{file.Url}: {e.Message}", e);
        }
        using (response)
        {
            if (response.StatusCode == HttpStatusCode.RequestedRangeNotSatisfiable && have > 0) return; // the part is whole: verified next
            if (!response.IsSuccessStatusCode)
                throw new ModelDownloadException($"{file.Url}: HTTP {(int)response.StatusCode} {response.ReasonPhrase}");
            bool resumed = have > 0 && response.StatusCode == HttpStatusCode.PartialContent;
            if (!resumed) have = 0; // the server sent the whole file: start the part again
            long? total = file.Size ?? (response.Content.Headers.ContentLength is { } n ? n + have : null);
            await using var target = new FileStream(part, resumed ? FileMode.Append : FileMode.Create, FileAccess.Write, FileShare.None, BufferSize);
            long done = have;
            try
            {
                await using var source = await response.Content.ReadAsStreamAsync(ct).ConfigureAwait(false);
                var buffer = new byte[BufferSize];
                int read;
                while ((read = await source.ReadAsync(buffer, ct).ConfigureAwait(false)) > 0)
                {
                    await target.WriteAsync(buffer.AsMemory(0, read), ct).ConfigureAwait(false);
                    done += read;
                    progress?.Report((done, total));
                }
            }
            catch (Exception e) when (e is IOException or HttpRequestException)
            {
                await target.FlushAsync(CancellationToken.None).ConfigureAwait(false);
                throw new ModelDownloadException($"{file.Url}: the transfer was cut after {done} bytes ({e.Message}); run the same command again to resume", e);
            }
        }
    }

}

/// <summary>Hex digests of files, SHA-256 or SHA-384 chosen by the length of the digest they are checked against.</summary>
public static class FileHash
{
    /// <summary>"SHA-256" for 64 hex digits, "SHA-384" for 96.</summary>
    /// <exception cref="ArgumentException">neither</exception>
    public static string AlgorithmOf(string expectedHex) => expectedHex.Length switch
    {
        64 when expectedHex.All(Uri.IsHexDigit) => "SHA-256",
        96 when expectedHex.All(Uri.IsHexDigit) => "SHA-384",
        _ => throw new ArgumentException($"'{expectedHex}' is neither a SHA-256 (64 hex digits) nor a SHA-384 (96) digest", nameof(expectedHex)),
    };

    /// <summary>The file's digest, in the algorithm of <paramref name="expectedHex"/>, lower-case hex.</summary>
    public static async Task<string> OfAsync(string path, string expectedHex, CancellationToken ct = default)
    {
        string algorithm = AlgorithmOf(expectedHex);
        await using var s = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, useAsync: true);
        byte[] digest = algorithm == "SHA-256" ? await SHA256.HashDataAsync(s, ct).ConfigureAwait(false) : await SHA384.HashDataAsync(s, ct).ConfigureAwait(false);
        return Convert.ToHexStringLower(digest);
    }

    public static string Of(string path, string expectedHex)
    {
        string algorithm = AlgorithmOf(expectedHex);
        using var s = File.OpenRead(path);
        return Convert.ToHexStringLower(algorithm == "SHA-256" ? SHA256.HashData(s) : SHA384.HashData(s));
    }

    /// <summary>The file's SHA-384 (the Open Model Zoo's hash), lower-case hex.</summary>
    public static string Sha384Of(string path)
    {
        using var s = File.OpenRead(path);
        return Convert.ToHexStringLower(SHA384.HashData(s));
    }
}
