using System.Globalization;
using Microsoft.Extensions.Logging;
using Xunit.Abstractions;

namespace Kiosk.Tests;

/// <summary>Writes log lines to a test's output (shown with the test's result), timestamped to the millisecond.</summary>
internal sealed class TestOutputLoggerProvider(ITestOutputHelper output) : ILoggerProvider
{
    public ILogger CreateLogger(string categoryName) => new Logger(output, categoryName[(categoryName.LastIndexOf('.') + 1)..]);
    public void Dispose() { }

    private sealed class Logger(ITestOutputHelper output, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;
        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            string line = string.Create(CultureInfo.InvariantCulture, $"{DateTime.UtcNow:HH:mm:ss.fff} {logLevel,-11} {category}: {formatter(state, exception)}");
            try { output.WriteLine(exception is null ? line : line + Environment.NewLine + exception); }
            catch (InvalidOperationException) { } // the test has ended; a late line from a background thread is dropped
        }
    }
}
