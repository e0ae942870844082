# Adds or removes one entry of the machine PATH, keeping every other entry byte for byte.
# [Environment]::Get/SetEnvironmentVariable would expand %SystemRoot%-style names and write REG_SZ:
# read the raw value from the registry and write it back as REG_EXPAND_SZ.
param(
    [Parameter(Mandatory = $true)][string]$Entry,
    [ValidateSet('present', 'absent')][string]$State = 'present'
)
$name = 'SYSTEM\CurrentControlSet\Control\Session Manager\Environment'
$key = [Microsoft.Win32.Registry]::LocalMachine.OpenSubKey($name, $true)
try {
    $current = [string]$key.GetValue('Path', '', [Microsoft.Win32.RegistryValueOptions]::DoNotExpandEnvironmentNames)
    # An entry written with a variable (%ProgramFiles%\x) is the same entry as its expansion.
    $want = [Environment]::ExpandEnvironmentVariables($Entry).TrimEnd('\')
    $same = { param($item) $item -and ([Environment]::ExpandEnvironmentVariables($item).TrimEnd('\') -ieq $want) }
    $parts = @($current -split ';')
    $present = @($parts | Where-Object { & $same $_ }).Count -gt 0
    $new = $null
    if ($State -eq 'present' -and -not $present) {
        $new = if ($current -eq '') { $Entry } elseif ($current.EndsWith(';')) { $current + $Entry } else { $current + ';' + $Entry }
    }
    elseif ($State -eq 'absent' -and $present) {
        $new = @($parts | Where-Object { -not (& $same $_) }) -join ';'
    }
    if ($null -ne $new) {
        $key.SetValue('Path', $new, [Microsoft.Win32.RegistryValueKind]::ExpandString)
    }
}
finally {
    $key.Dispose()
}
@{ entry = $Entry; state = $State; changed = ($null -ne $new) }
