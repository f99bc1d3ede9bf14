# expect: inside a string
$ErrorActionPreference = 'Stop'
. C:\ProgramData\nestlab\facts.ps1
$s = Read-NestlabSecret 'dsrm'
$line = "password=$s"
