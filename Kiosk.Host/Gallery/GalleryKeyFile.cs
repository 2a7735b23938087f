using System.Buffers.Text;
using System.Security.Cryptography;
using Microsoft.Extensions.Logging;

namespace Kiosk.Host.Gallery;

/// <summary>
/// Finds the gallery key. Format, for the file and the environment variable alike: base64 of 32 random bytes,
/// surrounding whitespace ignored (the file holds one line). Text rather than raw bytes so a key can be backed up,
/// printed for a safe, or passed through <c>KIOSK_GALLERY_KEY</c> without conversion.
/// <list type="number">
/// <item><c>KIOSK_GALLERY_KEY</c>, when set, is the key; the file is then not read (nor created).</item>
/// <item>Else the key file. It must not be accessible to group or others: refused, not warned about, because a
///   readable key makes every copy of the database readable and a warning in a journal nobody reads changes nothing.</item>
/// <item>Else, only when the gallery does not exist yet, a new key file is created, 0600 from the first byte
///   (the mode is given to open(2), so there is no moment it is readable by others), in a directory created 0700 if missing.</item>
/// <item>Else refused: a new key for an existing gallery would orphan its data.</item>
/// </list>
/// The key is never logged or put into a message; messages name where it came from.
/// </summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
internal static class GalleryKeyFile
{
    public const string EnvironmentVariable = "KIOSK_GALLERY_KEY";
    private const int MaxFileBytes = 1024;
    private const UnixFileMode OthersMask = UnixFileMode.GroupRead | UnixFileMode.GroupWrite | UnixFileMode.GroupExecute
        | UnixFileMode.OtherRead | UnixFileMode.OtherWrite | UnixFileMode.OtherExecute;
    private const UnixFileMode OwnerOnlyFile = UnixFileMode.UserRead | UnixFileMode.UserWrite;
    internal const UnixFileMode OwnerOnlyDirectory = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;

    /// <summary>The key (caller zeroes it) and a description of its source for messages.</summary>
    public static (byte[] Key, string Source) Obtain(string keyPath, string databasePath, bool galleryExists,
        Func<string, string?> environment, ILogger log)
    {
        if (environment(EnvironmentVariable) is { Length: > 0 } fromEnvironment)
        {
            string source = $"environment variable {EnvironmentVariable}";
            return (Parse(System.Text.Encoding.UTF8.GetBytes(fromEnvironment), source), source);
        }

        if (File.Exists(keyPath)) return (Read(keyPath), keyPath);

        if (galleryExists)
            throw new GalleryKeyException(
                $"the gallery {databasePath} (or its -wal file) exists but its key file {keyPath} is missing and {EnvironmentVariable} is not set; " +
                "the gallery cannot be opened without its key, and a new key will NOT be generated, since that would orphan " +
                "the enrolled data. Restore the key file from its backup.");

        return (Create(keyPath, log), keyPath);
    }

    private static byte[] Read(string keyPath)
    {
        UnixFileMode mode;
        long length;
        try
        {
            mode = File.GetUnixFileMode(keyPath);
            length = new FileInfo(keyPath).Length;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new GalleryKeyException($"the key file {keyPath} cannot be read: {e.Message}");
        }
        if ((mode & OthersMask) != 0)
            throw new GalleryKeyException(
                $"the key file {keyPath} has mode {Octal(mode)}, readable beyond its owner; a biometric gallery key must be " +
                $"the owner's alone: chmod 600 {keyPath} (and consider the key exposed if others could log in)");
        if (length > MaxFileBytes)
            throw new GalleryKeyException($"the key file {keyPath} is malformed: {length} bytes, where base64 of {GalleryCipher.KeySize} bytes is expected");
        byte[] text;
        try
        {
            text = File.ReadAllBytes(keyPath);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new GalleryKeyException($"the key file {keyPath} cannot be read: {e.Message}");
        }
        try
        {
            return Parse(text, $"the key file {keyPath}");
        }
        finally
        {
            CryptographicOperations.ZeroMemory(text);
        }
    }

    private static byte[] Parse(ReadOnlySpan<byte> text, string source)
    {
        text = text.Trim(" \t\r\n"u8);
        Span<byte> decoded = stackalloc byte[MaxFileBytes];
        try
        {
            if (Base64.DecodeFromUtf8(text, decoded, out int consumed, out int written) != System.Buffers.OperationStatus.Done
                || consumed != text.Length || written != GalleryCipher.KeySize)
                throw new GalleryKeyException($"{source} is malformed: it must be base64 of {GalleryCipher.KeySize} bytes (e.g. from `head -c 32 /dev/urandom | base64`)");
            return decoded[..GalleryCipher.KeySize].ToArray();
        }
        finally
        {
            CryptographicOperations.ZeroMemory(decoded);
        }
    }

    private static byte[] Create(string keyPath, ILogger log)
    {
        string directory = Path.GetDirectoryName(keyPath)!;
        byte[] key = RandomNumberGenerator.GetBytes(GalleryCipher.KeySize);
        byte[] text = System.Text.Encoding.ASCII.GetBytes(Convert.ToBase64String(key) + "\n");
        FileStream file;
        try
        {
            CreatePrivateDirectory(directory);
            try
            {
                file = new FileStream(keyPath, new FileStreamOptions
                {
                    Mode = FileMode.CreateNew, // never over an existing key
                    Access = FileAccess.Write,
                    Share = FileShare.None,
                    UnixCreateMode = OwnerOnlyFile,
                });
            }
            catch (IOException) when (File.Exists(keyPath))
            {
                // Another process (the service and the CLI starting together) made it first: use theirs.
                CryptographicOperations.ZeroMemory(key);
                return Read(keyPath);
            }
            try
            {
                file.Write(text);
                // On the disk before the gallery exists: a power cut must not leave data without its key.
                file.Flush(flushToDisk: true);
                file.Dispose();
            }
            catch (IOException)
            {
                file.Dispose();
                File.Delete(keyPath); // a half-written key (disk full) would block the next start
                throw;
            }
            Log.GalleryKeyCreated(log, keyPath);
            return key;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            CryptographicOperations.ZeroMemory(key);
            throw new GalleryKeyException($"a new key file cannot be created at {keyPath}: {e.Message}");
        }
        finally
        {
            CryptographicOperations.ZeroMemory(text);
        }
    }

    /// <summary>
    /// Creates the directory and any missing parents 0700. (Directory.CreateDirectory's mode reaches only the last
    /// one; the parents would get 0755.) Existing directories are left as they are.
    /// </summary>
    internal static void CreatePrivateDirectory(string directory)
    {
        var missing = new Stack<string>();
        for (string? d = directory; d is not null && !Directory.Exists(d); d = Path.GetDirectoryName(d)) missing.Push(d);
        while (missing.TryPop(out string? d))
            Directory.CreateDirectory(d, OwnerOnlyDirectory);
    }

    internal static string Octal(UnixFileMode mode) => "0" + Convert.ToString((int)mode & 0xFFF, 8);
}
