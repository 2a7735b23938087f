namespace Kiosk.Vision.Evaluation;

/// <summary>
/// A pairs list could not be read. The message names the source and the 1-based line number,
/// as <c>source, line N: detail</c>.
/// </summary>
public sealed class PairListFormatException : FormatException
{
    public PairListFormatException(string sourceName, int lineNumber, string detail)
        : base($"{sourceName}, line {lineNumber}: {detail}")
    {
        SourceName = sourceName;
        LineNumber = lineNumber;
    }

    /// <summary>The file path or name the list was read from.</summary>
    public string SourceName { get; }

    /// <summary>1-based line number the problem was found on (the first line of the record).</summary>
    public int LineNumber { get; }
}
