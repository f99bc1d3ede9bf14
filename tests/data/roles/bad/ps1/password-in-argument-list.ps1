# expect: a password option inside a string
$ErrorActionPreference = 'Stop'
. C:\ProgramData\nestlab\facts.ps1
$pw = $args[0]
Start-Process setup.exe -ArgumentList "/server /SqlDBAdminPassword $pw"
