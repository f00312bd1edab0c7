using Microsoft.Extensions.Logging;

namespace TrafficAudit.Cli;

/// <summary>
/// Logs to the command's error writer (the process's stderr, or a test's StringWriter), one line per
/// message: "trafficaudit: warning: ...". Synchronous, so lines appear in order with the summary.
/// </summary>
public sealed class TextWriterLoggerProvider(TextWriter writer, LogLevel minimum = LogLevel.Information) : ILoggerProvider
{
    public ILogger CreateLogger(string categoryName) => new Logger(writer, minimum);

    public void Dispose() { }

    private sealed class Logger(TextWriter writer, LogLevel minimum) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;
        public bool IsEnabled(LogLevel logLevel) => logLevel >= minimum && logLevel != LogLevel.None;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (!IsEnabled(logLevel)) return;
            string level = logLevel switch
            {
                LogLevel.Warning => "warning: ",
                LogLevel.Error or LogLevel.Critical => "error: ",
                _ => "",
            };
            lock (writer) writer.WriteLine($"trafficaudit: {level}{formatter(state, exception)}");
        }
    }
}
