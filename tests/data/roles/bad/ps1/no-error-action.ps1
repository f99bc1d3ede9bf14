# expect: does not start with $ErrorActionPreference
. C:\ProgramData\nestlab\facts.ps1
Write-Output $NL.Machine
