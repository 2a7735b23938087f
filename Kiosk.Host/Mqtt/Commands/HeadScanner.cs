using System.Text;
using System.Text.Json;

namespace Kiosk.Host.Mqtt.Commands;

/// <summary>
/// Reads <c>request_id</c> and <c>reply_to</c> from the start of a message that cannot be parsed whole (cut off at
/// <see cref="MqttMessage.TruncatedHeadBytes"/>, too large, or broken further on), so that even its refusal reaches
/// the caller under its request id. Forgiving: it stops quietly at the first thing it cannot read. For a signed
/// envelope it looks inside the <c>body</c> string, however much of it there is.
/// </summary>
internal static class HeadScanner
{
    /// <summary>Longest value taken: longer ones are not valid request ids or reply topics anyway.</summary>
    private const int MaxValueBytes = 1024;

    public static (string? RequestId, string? ReplyTo) Scan(ReadOnlySpan<byte> head) => Scan(head, lookInsideBody: true);

    private static (string? RequestId, string? ReplyTo) Scan(ReadOnlySpan<byte> head, bool lookInsideBody)
    {
        string? requestId = null, replyTo = null;
        var reader = new Utf8JsonReader(head, isFinalBlock: false, new JsonReaderState(new JsonReaderOptions { MaxDepth = CommandProcessor.MaxJsonDepth }));
        try
        {
            while (reader.Read())
            {
                if (reader.TokenType != JsonTokenType.PropertyName || reader.CurrentDepth != 1) continue;
                bool isId = reader.ValueTextEquals("request_id"u8), isReply = reader.ValueTextEquals("reply_to"u8);
                bool isBody = lookInsideBody && reader.ValueTextEquals("body"u8);
                if (!isId && !isReply && !isBody) continue;
                long afterName = reader.BytesConsumed;
                if (!reader.Read())
                {
                    // The value is cut off. Only a body is worth reading in part: the command's head is in it.
                    if (isBody) return Merge((requestId, replyTo), Scan(PartialString(head[(int)afterName..]), lookInsideBody: false));
                    break;
                }
                if (reader.TokenType != JsonTokenType.String) continue;
                if (isBody)
                {
                    byte[] body = new byte[reader.HasValueSequence ? reader.ValueSequence.Length : reader.ValueSpan.Length];
                    int n = reader.CopyString(body);
                    (requestId, replyTo) = Merge((requestId, replyTo), Scan(body.AsSpan(0, n), lookInsideBody: false));
                }
                else if (reader.ValueSpan.Length <= MaxValueBytes)
                {
                    string value = reader.GetString()!;
                    if (isId) requestId ??= value;
                    else replyTo ??= value;
                }
            }
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException)
        {
            // Broken further on: what was read before the break stands.
        }
        return (requestId, replyTo);
    }

    private static (string?, string?) Merge((string? Id, string? Reply) a, (string? Id, string? Reply) b) => (a.Id ?? b.Id, a.Reply ?? b.Reply);

    /// <summary>
    /// The decoded text of a JSON string that is cut off: <paramref name="rest"/> starts after the member name
    /// (<c>: "...</c>). Escapes are undone; a broken one ends the text.
    /// </summary>
    private static byte[] PartialString(ReadOnlySpan<byte> rest)
    {
        int i = 0;
        while (i < rest.Length && rest[i] is (byte)' ' or (byte)'\t' or (byte)'\r' or (byte)'\n' or (byte)':') i++;
        if (i >= rest.Length || rest[i] != '"') return [];
        i++;
        var text = new StringBuilder();
        var run = new List<byte>();
        void Flush()
        {
            text.Append(Encoding.UTF8.GetString(run.ToArray()));
            run.Clear();
        }
        while (i < rest.Length && rest[i] != '"')
        {
            byte b = rest[i];
            if (b != '\\') { run.Add(b); i++; continue; }
            if (i + 1 >= rest.Length) break;
            byte e = rest[i + 1];
            char? simple = e switch
            {
                (byte)'"' => '"', (byte)'\\' => '\\', (byte)'/' => '/', (byte)'b' => '\b',
                (byte)'f' => '\f', (byte)'n' => '\n', (byte)'r' => '\r', (byte)'t' => '\t', _ => null,
            };
            if (simple is { } c) { Flush(); text.Append(c); i += 2; continue; }
            if (e != 'u' || i + 6 > rest.Length
                || !int.TryParse(Encoding.ASCII.GetString(rest.Slice(i + 2, 4)), System.Globalization.NumberStyles.HexNumber, null, out int code))
                break;
            Flush();
            text.Append((char)code);
            i += 6;
        }
        Flush();
        return Encoding.UTF8.GetBytes(text.ToString());
    }
}
