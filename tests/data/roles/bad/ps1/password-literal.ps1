# expect: -Password is given
$ErrorActionPreference = 'Stop'
. C:\ProgramData\nestlab\facts.ps1
Register-ScheduledTask -TaskName t -User u -Password 'Secret1!'
