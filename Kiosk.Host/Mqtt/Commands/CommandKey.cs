using System.Buffers;
using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text.Encodings.Web;
using System.Text.Json;
using Kiosk.Host.Gallery;

namespace Kiosk.Host.Mqtt.Commands;

/// <summary>
/// The key shared by the kiosk and whoever signs its commands: HMAC-SHA256 over the exact UTF-8 bytes of the command
/// (docs/mqtt/commands.md). The file holds its base64 (at least 32 bytes; surrounding whitespace ignored) and must be
/// its owner's alone, like the gallery key. The key is never logged or put into a message; messages name the file.
/// </summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class CommandKey : IDisposable
{
    public const int MinBytes = 32;
    public const int MaxBytes = 512;
    public const int SignatureBytes = 32;
    private const int MaxFileBytes = 4096;
    private const UnixFileMode OthersMask = UnixFileMode.GroupRead | UnixFileMode.GroupWrite | UnixFileMode.GroupExecute
        | UnixFileMode.OtherRead | UnixFileMode.OtherWrite | UnixFileMode.OtherExecute;

    private readonly byte[] _key;

    private CommandKey(byte[] key) => _key = key;

    /// <summary>Reads a key file.</summary>
    /// <param name="setting">what named the file, for messages: <c>Mqtt:CommandKeyFile</c> or <c>--key-file</c></param>
    /// <exception cref="SettingsException">missing, unreadable, readable by others, or not base64 of 32 to 512 bytes</exception>
    public static CommandKey Load(string path, string setting)
    {
        byte[] text;
        try
        {
            var mode = File.GetUnixFileMode(path);
            if ((mode & OthersMask) != 0)
                throw new SettingsException($"{setting} {path} has mode {GalleryKeyFile.Octal(mode)}, readable beyond its owner; " +
                    $"whoever reads it can send the kiosk commands: chmod 600 {path} (and consider the key exposed)");
            if (new FileInfo(path).Length > MaxFileBytes)
                throw new SettingsException($"{setting} {path} is malformed: more than {MaxFileBytes} bytes, where base64 of {MinBytes} to {MaxBytes} bytes is expected");
            text = File.ReadAllBytes(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new SettingsException($"{setting} {path} cannot be read: {e.Message}");
        }
        try
        {
            var trimmed = text.AsSpan().Trim(" \t\r\n"u8);
            byte[] decoded = new byte[Base64.GetMaxDecodedFromUtf8Length(trimmed.Length)];
            if (Base64.DecodeFromUtf8(trimmed, decoded, out int consumed, out int written) != OperationStatus.Done
                || consumed != trimmed.Length || written is < MinBytes or > MaxBytes)
            {
                CryptographicOperations.ZeroMemory(decoded);
                throw new SettingsException($"{setting} {path} is malformed: it must hold base64 of {MinBytes} to {MaxBytes} random bytes " +
                    "(make one with `kiosk command new-key --out FILE`)");
            }
            byte[] key = decoded[..written];
            CryptographicOperations.ZeroMemory(decoded);
            return new CommandKey(key);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(text);
        }
    }

    /// <summary>Writes a new random key of <see cref="MinBytes"/> bytes, mode 0600 from its creation; never over an existing file.</summary>
    /// <exception cref="IOException">the file exists or cannot be written</exception>
    public static void CreateFile(string path)
    {
        byte[] key = RandomNumberGenerator.GetBytes(MinBytes);
        byte[] text = System.Text.Encoding.ASCII.GetBytes(Convert.ToBase64String(key) + "\n");
        try
        {
            string? directory = Path.GetDirectoryName(Path.GetFullPath(path));
            if (directory is not null) GalleryKeyFile.CreatePrivateDirectory(directory);
            using var file = new FileStream(path, new FileStreamOptions
            {
                Mode = FileMode.CreateNew, // a new key over an old one would lock out every signer that holds it
                Access = FileAccess.Write,
                Share = FileShare.None,
                UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite,
            });
            file.Write(text);
            file.Flush(flushToDisk: true);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(key);
            CryptographicOperations.ZeroMemory(text);
        }
    }

    /// <summary>HMAC-SHA256 of <paramref name="body"/>.</summary>
    public byte[] Sign(ReadOnlySpan<byte> body) => HMACSHA256.HashData(_key, body);

    /// <summary>Whether <paramref name="signature"/> is the body's HMAC, compared in constant time.</summary>
    public bool Verify(ReadOnlySpan<byte> body, ReadOnlySpan<byte> signature)
    {
        Span<byte> expected = stackalloc byte[SignatureBytes];
        HMACSHA256.HashData(_key, body, expected);
        // FixedTimeEquals: a timing difference must not reveal how many leading bytes of a forgery were right.
        return signature.Length == SignatureBytes && CryptographicOperations.FixedTimeEquals(expected, signature);
    }

    /// <summary>
    /// The signed form of a command: <c>{"body":"&lt;the command as a JSON string&gt;","signature":"&lt;base64 HMAC&gt;"}</c>.
    /// </summary>
    /// <exception cref="ArgumentException">the body is not valid UTF-8</exception>
    public byte[] Envelope(ReadOnlySpan<byte> body)
    {
        var buffer = new ArrayBufferWriter<byte>(body.Length + 128);
        // Relaxed escaping: nothing here is embedded in HTML, and base64's '+' stays one byte instead of six.
        using (var w = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            w.WriteStartObject();
            w.WriteString("body"u8, body);
            w.WriteString("signature"u8, Convert.ToBase64String(Sign(body)));
            w.WriteEndObject();
        }
        return buffer.WrittenSpan.ToArray();
    }

    public void Dispose() => CryptographicOperations.ZeroMemory(_key);
}
