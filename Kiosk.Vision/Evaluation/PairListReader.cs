using System.Text;

namespace Kiosk.Vision.Evaluation;

/// <summary>
/// Reads CSV lists of labelled face pairs, such as deepface's <c>master.csv</c>
/// (<c>file_x,file_y,Decision</c>) and <c>face-recognition-pivot.csv</c>
/// (<c>file_x,file_y,decision,&lt;score columns&gt;...</c>).
/// </summary>
/// <remarks>
/// <para>The first non-blank row is the header; columns <c>file_x</c>, <c>file_y</c> and <c>decision</c> are found
/// by name (case-insensitive, any position); other columns are ignored. Every data row must have as many fields
/// as the header.</para>
/// <para>Decisions: <c>yes</c>/<c>true</c>/<c>1</c>/<c>same</c> and <c>no</c>/<c>false</c>/<c>0</c>/<c>different</c>,
/// case-insensitive. File names lose any directory prefix (<c>/</c> or <c>\</c>).</para>
/// <para>CSV: RFC 4180 double-quoted fields (with <c>""</c> escapes and line breaks inside quotes), CRLF, LF or CR
/// line ends, an optional byte-order mark, blank lines skipped. Unquoted fields are trimmed of white space.</para>
/// <para>Errors throw <see cref="PairListFormatException"/> naming the source and the 1-based line.</para>
/// </remarks>
public static class PairListReader
{
    private const string FileXColumn = "file_x";
    private const string FileYColumn = "file_y";
    private const string DecisionColumn = "decision";

    /// <summary>Reads the pairs list at <paramref name="path"/> (UTF-8 unless a byte-order mark says otherwise).</summary>
    public static IReadOnlyList<FacePair> Read(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        using var reader = new StreamReader(path, Encoding.UTF8, detectEncodingFromByteOrderMarks: true);
        return Parse(reader, path);
    }

    /// <summary>Parses a pairs list; <paramref name="sourceName"/> is only used in error messages.</summary>
    public static IReadOnlyList<FacePair> Parse(TextReader reader, string sourceName)
    {
        ArgumentNullException.ThrowIfNull(reader);
        ArgumentNullException.ThrowIfNull(sourceName);

        var records = new CsvRecordReader(reader, sourceName);
        var fields = new List<string>();
        int line;
        do
        {
            if (!records.TryReadRecord(fields, out line))
            {
                throw new PairListFormatException(sourceName, line, "no header row; expected columns file_x, file_y, decision");
            }
        }
        while (IsBlank(fields));

        int headerLine = line;
        int columnCount = fields.Count;
        int fileX = FindColumn(fields, FileXColumn, sourceName, headerLine);
        int fileY = FindColumn(fields, FileYColumn, sourceName, headerLine);
        int decision = FindColumn(fields, DecisionColumn, sourceName, headerLine);

        var pairs = new List<FacePair>();
        while (records.TryReadRecord(fields, out line))
        {
            if (IsBlank(fields))
            {
                continue;
            }

            if (fields.Count != columnCount)
            {
                throw new PairListFormatException(
                    sourceName, line, $"expected {columnCount} fields as in the header on line {headerLine}, found {fields.Count}");
            }

            pairs.Add(new FacePair(
                FileName(fields[fileX], FileXColumn, sourceName, line),
                FileName(fields[fileY], FileYColumn, sourceName, line),
                Decision(fields[decision], sourceName, line)));
        }

        return pairs.ToArray();
    }

    private static bool IsBlank(List<string> fields) => fields.Count == 1 && fields[0].Length == 0;

    private static int FindColumn(List<string> header, string name, string sourceName, int line)
    {
        int found = -1;
        for (int i = 0; i < header.Count; i++)
        {
            if (!string.Equals(header[i].Trim(), name, StringComparison.OrdinalIgnoreCase))
            {
                continue;
            }

            if (found >= 0)
            {
                throw new PairListFormatException(sourceName, line, $"column '{name}' appears more than once in the header");
            }

            found = i;
        }

        if (found < 0)
        {
            throw new PairListFormatException(
                sourceName, line, $"header lacks required column '{name}' (found: {string.Join(", ", header)})");
        }

        return found;
    }

    private static string FileName(string value, string column, string sourceName, int line)
    {
        int slash = value.AsSpan().LastIndexOfAny('/', '\\');
        string name = value[(slash + 1)..];
        if (name.Length == 0)
        {
            throw new PairListFormatException(sourceName, line, $"column '{column}' has no file name ('{value}')");
        }

        return name;
    }

    private static bool Decision(string value, string sourceName, int line)
    {
        string v = value.Trim();
        if (v.Equals("yes", StringComparison.OrdinalIgnoreCase)
            || v.Equals("true", StringComparison.OrdinalIgnoreCase)
            || v.Equals("same", StringComparison.OrdinalIgnoreCase)
            || v == "1")
        {
            return true;
        }

        if (v.Equals("no", StringComparison.OrdinalIgnoreCase)
            || v.Equals("false", StringComparison.OrdinalIgnoreCase)
            || v.Equals("different", StringComparison.OrdinalIgnoreCase)
            || v == "0")
        {
            return false;
        }

        throw new PairListFormatException(
            sourceName, line, $"decision '{value}' is not one of yes/no, true/false, 1/0, same/different");
    }

    /// <summary>Splits a text into CSV records, counting physical lines.</summary>
    private sealed class CsvRecordReader(TextReader reader, string sourceName)
    {
        private const char ByteOrderMark = '\uFEFF';
        private const int Nothing = -2;
        private readonly StringBuilder _field = new();
        private int _pending = Nothing;
        private int _line = 1;
        private bool _atStart = true;

        /// <summary>Reads one record into <paramref name="fields"/>; false at end of input.</summary>
        /// <param name="startLine">1-based line the record starts on (or the line after the last one at end of input).</param>
        public bool TryReadRecord(List<string> fields, out int startLine)
        {
            fields.Clear();
            startLine = _line;
            if (_atStart)
            {
                _atStart = false;
                if (Peek() == ByteOrderMark)
                {
                    Read();
                }
            }

            if (Peek() < 0)
            {
                return false;
            }

            _field.Clear();
            bool inQuotes = false;
            bool quoted = false;
            bool afterClosingQuote = false;
            while (true)
            {
                int c = Read();
                if (inQuotes)
                {
                    if (c < 0)
                    {
                        throw new PairListFormatException(sourceName, startLine, "quoted field is not closed before the end of the file");
                    }

                    if (c == '"')
                    {
                        if (Peek() == '"')
                        {
                            Read();
                            _field.Append('"');
                        }
                        else
                        {
                            inQuotes = false;
                            afterClosingQuote = true;
                        }

                        continue;
                    }

                    if (c == '\n' || (c == '\r' && Peek() != '\n'))
                    {
                        _line++;
                    }

                    _field.Append((char)c);
                    continue;
                }

                if (c < 0 || c == '\n' || c == '\r')
                {
                    if (c == '\r' && Peek() == '\n')
                    {
                        Read();
                    }

                    if (c >= 0)
                    {
                        _line++;
                    }

                    EndField(fields, quoted);
                    return true;
                }

                if (c == ',')
                {
                    EndField(fields, quoted);
                    quoted = false;
                    afterClosingQuote = false;
                    continue;
                }

                if (afterClosingQuote)
                {
                    if (!char.IsWhiteSpace((char)c))
                    {
                        throw new PairListFormatException(
                            sourceName, _line, $"unexpected '{(char)c}' after a closing quote; a quoted field must end at a comma or line end");
                    }

                    continue;
                }

                if (c == '"' && IsWhiteSpace(_field))
                {
                    _field.Clear();
                    inQuotes = true;
                    quoted = true;
                    continue;
                }

                _field.Append((char)c);
            }
        }

        // Own one-character look-ahead: TextReader.Peek is optional for TextReader implementations.
        private int Peek()
        {
            if (_pending == Nothing)
            {
                _pending = reader.Read();
            }

            return _pending;
        }

        private int Read()
        {
            if (_pending == Nothing)
            {
                return reader.Read();
            }

            int c = _pending;
            _pending = Nothing;
            return c;
        }

        private void EndField(List<string> fields, bool quoted)
        {
            string value = _field.ToString();
            fields.Add(quoted ? value : value.Trim());
            _field.Clear();
        }

        private static bool IsWhiteSpace(StringBuilder text)
        {
            for (int i = 0; i < text.Length; i++)
            {
                if (!char.IsWhiteSpace(text[i]))
                {
                    return false;
                }
            }

            return true;
        }
    }
}
