using Microsoft.Extensions.Configuration;

namespace Kiosk.Host.Mqtt;

/// <summary>
/// How <see cref="EventPublisher"/> drains the outbox; keys <c>Mqtt:EventWindow</c> and <c>Mqtt:EventPollInterval</c>.
/// <see cref="Validate"/> throws <see cref="SettingsException"/> naming the key.
/// </summary>
public sealed record EventPublisherOptions
{
    public const int DefaultWindow = 32;
    public const int MaxWindow = 1024;
    public static readonly TimeSpan DefaultPollInterval = TimeSpan.FromSeconds(5);

    /// <summary>
    /// Most events published and not yet acknowledged. During an outage at most this many wait in libmosquitto's
    /// memory (each with its snapshot, if any); the rest stay in the event log.
    /// </summary>
    public int Window { get; init; } = DefaultWindow;

    /// <summary>
    /// How often the outbox is read without a wake-up: events appended by another process (the CLI) are seen
    /// within this, and a failed publish or event-log read is retried after it.
    /// </summary>
    public TimeSpan PollInterval { get; init; } = DefaultPollInterval;

    public void Validate()
    {
        if (Window is < 1 or > MaxWindow)
            throw new SettingsException($"{MqttOptions.Section}:EventWindow is {Window}; it must be 1-{MaxWindow} events");
        if (PollInterval < TimeSpan.FromMilliseconds(100) || PollInterval > TimeSpan.FromHours(1))
            throw new SettingsException($"{MqttOptions.Section}:EventPollInterval is {PollInterval}; it must be from 00:00:00.1 to 01:00:00");
    }

    /// <summary>Reads <c>Mqtt:EventWindow</c> and <c>Mqtt:EventPollInterval</c> (defaults when absent) and validates them.</summary>
    public static EventPublisherOptions Load(IConfiguration config)
    {
        var options = new EventPublisherOptions
        {
            Window = KioskSettings.Get(config, $"{MqttOptions.Section}:EventWindow", DefaultWindow),
            PollInterval = KioskSettings.Get(config, $"{MqttOptions.Section}:EventPollInterval", DefaultPollInterval),
        };
        options.Validate();
        return options;
    }
}
