using Kiosk.Hardware.Door;
using Kiosk.Hardware.Gpio;
using Kiosk.Hardware.Simulated;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Kiosk.Hardware;

/// <summary>Registration of the door hardware.</summary>
public static class HardwareServiceCollectionExtensions
{
    /// <summary>
    /// Registers, as singletons: <paramref name="o"/>; a <see cref="TimeProvider"/> (the system one unless one is
    /// registered already); the <see cref="IGpioDriver"/> of Door:Driver (a <see cref="CharacterDeviceGpioDriver"/>
    /// on Door:ChipPath, or a <see cref="SimulatedGpioDriver"/> over a <see cref="SimulatedGpioChip"/> (kept in
    /// Door:SimulatedStateFile when set) that is registered too, for a demo or a CLI to drive); and the <see cref="DoorController"/>. The options are validated
    /// here, at start; the chip is opened when the controller is first resolved.
    /// </summary>
    /// <remarks>
    /// The container disposes singletons in reverse order of creation, so the controller (created after the driver
    /// it depends on) locks the door and releases its lines before the driver closes the chip. Dispose the provider
    /// asynchronously (the host does): both are <see cref="IAsyncDisposable"/> only.
    /// </remarks>
    /// <exception cref="Microsoft.Extensions.Options.OptionsValidationException">the options are invalid (messages name the keys)</exception>
    public static IServiceCollection AddKioskHardware(this IServiceCollection s, DoorOptions o)
    {
        ArgumentNullException.ThrowIfNull(s);
        ArgumentNullException.ThrowIfNull(o);
        o.Validate();

        s.AddSingleton(o);
        s.TryAddSingleton(TimeProvider.System);
        if (o.IsSimulated)
        {
            s.TryAddSingleton(_ => new SimulatedGpioChip(o.ChipPath, stateFile: o.SimulatedStateFile));
            s.AddSingleton<IGpioDriver>(sp => new SimulatedGpioDriver(
                sp.GetRequiredService<SimulatedGpioChip>(), sp.GetRequiredService<TimeProvider>(), Logger<SimulatedGpioDriver>(sp)));
        }
        else
        {
            s.AddSingleton<IGpioDriver>(sp => new CharacterDeviceGpioDriver(o.ChipPath, Logger<CharacterDeviceGpioDriver>(sp)));
        }
        s.AddSingleton(sp => new DoorController(
            sp.GetRequiredService<IGpioDriver>(), o, sp.GetRequiredService<TimeProvider>(), Logger<DoorController>(sp)));
        return s;
    }

    private static ILogger<T> Logger<T>(IServiceProvider sp) =>
        sp.GetService<ILoggerFactory>()?.CreateLogger<T>() ?? NullLogger<T>.Instance;
}
