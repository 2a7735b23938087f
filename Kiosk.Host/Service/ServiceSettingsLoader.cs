using Kiosk.Hardware.Door;
using Kiosk.Host.Recognition;
using Kiosk.Vision.Capture;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;

namespace Kiosk.Host.Service;

/// <summary>Reads the service's sections (Camera, Door, Recognition, Schedules) and validates them all at start.</summary>
public static class ServiceSettingsLoader
{
    public static ServiceSettings Load(IConfiguration config, KioskSettings kiosk)
    {
        try
        {
            var camera = config.GetSection("Camera").Get<FrameSourceOptions>() ?? new FrameSourceOptions();
            camera.Validate();
            var door = config.GetSection(DoorOptions.Section).Get<DoorOptions>()
                       ?? throw new SettingsException("Door: the section is missing; at least Door:LockLine (the lock relay's GPIO line) is needed");
            door.Validate();
            var recognition = config.GetSection("Recognition").Get<RecognitionOptions>() ?? new RecognitionOptions();
            recognition.Validate();
            var groups = config.GetSection("Schedules").GetChildren()
                .ToDictionary(c => c.Key, c => (IReadOnlyList<string>)c.GetChildren().Select(w => w.Value ?? "").ToList(), StringComparer.OrdinalIgnoreCase);
            var zone = config["Schedules:TimeZone"] is { Length: > 0 } z ? TimeZoneInfo.FindSystemTimeZoneById(z) : TimeZoneInfo.Local;
            groups.Remove("TimeZone");
            var stats = config["Service:StatsInterval"] is { Length: > 0 } si ? TimeSpan.Parse(si, System.Globalization.CultureInfo.InvariantCulture) : TimeSpan.FromMinutes(1);
            if (stats <= TimeSpan.Zero) throw new SettingsException("Service:StatsInterval must be positive");
            return new ServiceSettings(kiosk, camera, door, recognition, new AccessSchedule(groups, zone), kiosk.Events) { StatsInterval = stats, Mqtt = Mqtt.MqttLinkSettings.Load(config) };
        }
        catch (Exception e) when (e is ArgumentException or OptionsValidationException or InvalidOperationException or TimeZoneNotFoundException or FormatException)
        {
            throw new SettingsException(e.Message.Split(" (Parameter")[0]);
        }
    }
}
