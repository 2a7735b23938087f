using Microsoft.Extensions.Configuration;

namespace Kiosk.Host.Mqtt.Commands;

/// <summary>
/// How the kiosk takes remote commands (docs/mqtt/commands.md); keys of section <c>Mqtt</c>, beside the broker
/// connection's. <see cref="Validate"/> throws <see cref="SettingsException"/> naming the key.
/// </summary>
public sealed class CommandOptions
{
    public const string Section = "Mqtt";
    public const int DefaultMaxCommandBytes = 16 * 1024 * 1024;
    public const int DefaultMaxImagesPerCommand = 10;
    public const int DefaultMaxImageBytes = 8 * 1024 * 1024;
    public static readonly TimeSpan DefaultCommandMaxAge = TimeSpan.FromMinutes(5);

    /// <summary>How far in the future issued_utc may be (clocks differ a little; a command from the future is a forgery or a broken clock).</summary>
    public static readonly TimeSpan MaxClockSkew = TimeSpan.FromMinutes(1);

    /// <summary>A file holding the base64 of the shared signing key (at least 32 bytes), readable by its owner only. Never logged.</summary>
    public string? CommandKeyFile { get; init; }

    /// <summary>Refuse commands without a valid signature. On by default: a command can enroll people and open the door.</summary>
    public bool RequireSignedCommands { get; init; } = true;

    /// <summary>Oldest issued_utc accepted, and how long a request id's reply is remembered for a repeat.</summary>
    public TimeSpan CommandMaxAge { get; init; } = DefaultCommandMaxAge;

    /// <summary>Largest command accepted; a larger message is refused without being parsed.</summary>
    public int MaxCommandBytes { get; init; } = DefaultMaxCommandBytes;

    /// <summary>Most images (and, separately, most templates) in one command.</summary>
    public int MaxImagesPerCommand { get; init; } = DefaultMaxImagesPerCommand;

    /// <summary>Largest image, as encoded bytes (JPEG, PNG, WebP) after base64 decoding.</summary>
    public int MaxImageBytes { get; init; } = DefaultMaxImageBytes;

    /// <summary>Whether open-door is obeyed. Off by default: with it, whoever holds the key can open the door from afar.</summary>
    public bool AllowOpenDoor { get; init; }

    public void Validate()
    {
        if (CommandKeyFile is not null && !File.Exists(CommandKeyFile))
            throw new SettingsException($"{Section}:CommandKeyFile is {CommandKeyFile}, which does not exist (make one with `kiosk command new-key --out FILE`)");
        if (CommandMaxAge < TimeSpan.FromSeconds(10) || CommandMaxAge > TimeSpan.FromDays(1))
            throw new SettingsException($"{Section}:CommandMaxAge is {CommandMaxAge}; it must be from 00:00:10 to 1.00:00:00");
        if (MaxCommandBytes is < 1024 or > MqttOptions.MaxPacketBytes)
            throw new SettingsException($"{Section}:MaxCommandBytes is {MaxCommandBytes}; it must be 1024 to {MqttOptions.MaxPacketBytes} bytes");
        if (MaxImagesPerCommand is < 1 or > 100)
            throw new SettingsException($"{Section}:MaxImagesPerCommand is {MaxImagesPerCommand}; it must be 1 to 100");
        if (MaxImageBytes < 1024 || MaxImageBytes > MaxCommandBytes)
            throw new SettingsException($"{Section}:MaxImageBytes is {MaxImageBytes}; it must be 1024 to {Section}:MaxCommandBytes ({MaxCommandBytes}) bytes");
    }

    /// <summary>Reads the command keys of section <c>Mqtt</c> (defaults for absent ones) and validates them.</summary>
    public static CommandOptions Load(IConfiguration config)
    {
        int maxCommand = KioskSettings.Get(config, $"{Section}:MaxCommandBytes", DefaultMaxCommandBytes);
        var options = new CommandOptions
        {
            CommandKeyFile = config[$"{Section}:CommandKeyFile"] is { Length: > 0 } key ? key : null,
            RequireSignedCommands = KioskSettings.Get(config, $"{Section}:RequireSignedCommands", true),
            CommandMaxAge = KioskSettings.Get(config, $"{Section}:CommandMaxAge", DefaultCommandMaxAge),
            MaxCommandBytes = maxCommand,
            MaxImagesPerCommand = KioskSettings.Get(config, $"{Section}:MaxImagesPerCommand", DefaultMaxImagesPerCommand),
            // A smaller command limit alone lowers the image limit with it rather than failing validation.
            MaxImageBytes = KioskSettings.Get(config, $"{Section}:MaxImageBytes", Math.Min(DefaultMaxImageBytes, maxCommand)),
            AllowOpenDoor = KioskSettings.Get(config, $"{Section}:AllowOpenDoor", false),
        };
        options.Validate();
        return options;
    }
}
